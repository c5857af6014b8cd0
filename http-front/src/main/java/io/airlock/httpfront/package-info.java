/**
 * The HTTP/1.1 front both doors to private MCP servers stand on: the reference control plane's
 * MCP endpoint and the daemon's gateway origin. Each says what a request means
 * ({@link ExchangeHandler#start}); this package runs it, one exchange at a time per connection.
 */
package io.airlock.httpfront;
