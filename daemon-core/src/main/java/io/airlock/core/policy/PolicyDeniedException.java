package io.airlock.core.policy;

/** The local policy refuses a request; {@code rule} names the configuration field that decided it. */
public final class PolicyDeniedException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String rule;

    public PolicyDeniedException(String rule, String message) {
        super(message);
        this.rule = rule;
    }

    public String rule() {
        return rule;
    }
}
