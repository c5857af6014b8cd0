package io.airlock.core.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.airlock.notation.Durations;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/** Reads {@link DaemonConfig} from YAML and turns every mistake into one line naming the field. */
public final class ConfigLoader {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .registerModule(new SimpleModule("airlock-config")
                    .addDeserializer(Duration.class, new FromString<>(Durations::parse))
                    .addDeserializer(ByteSize.class, new FromString<>(ByteSize::parse)));

    private ConfigLoader() {}

    public static DaemonConfig load(Path file) throws ConfigException {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file + ": no such file (expected: a YAML configuration; see docs/configuration.md)");
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage(), e);
        }
        return parse(text, file.toString());
    }

    public static DaemonConfig parse(String yaml, String source) throws ConfigException {
        if (yaml.isBlank()) {
            return DaemonConfig.defaults();
        }
        try {
            DaemonConfig config = YAML.readValue(yaml, DaemonConfig.class);
            return config == null ? DaemonConfig.defaults() : config;
        } catch (UnrecognizedPropertyException e) {
            String known = e.getKnownPropertyIds() == null ? "" : e.getKnownPropertyIds().stream().map(Object::toString).sorted()
                    .collect(Collectors.joining(", "));
            throw new ConfigException(source + ": " + path(e) + ": unknown field (expected one of: " + known + ")", e);
        } catch (MismatchedInputException e) {
            throw new ConfigException(source + ": " + path(e) + ": " + mismatch(e), e);
        } catch (JsonMappingException e) {
            throw new ConfigException(source + ": " + path(e) + ": " + rootMessage(e), e);
        } catch (JsonProcessingException e) {
            throw new ConfigException(source + ": not valid YAML: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"), e);
        }
    }

    /**
     * A value of the wrong kind, in the documented form: {@code 'many' (expected: a whole number)}.
     * Jackson's own wording names Java types ("Cannot deserialize value of type
     * `java.lang.Integer`"), which mean nothing to an operator.
     */
    private static String mismatch(MismatchedInputException e) {
        String expected = expectedKind(e.getTargetType());
        if (e instanceof InvalidFormatException f && f.getValue() != null) {
            return "'" + f.getValue() + "' (expected: " + expected + ")";
        }
        Object given = null;
        try {
            var p = e.getProcessor() instanceof JsonParser parser ? parser : null;
            if (p != null && p.currentToken() != null && p.currentToken().isScalarValue()) {
                given = p.getText();
            }
        } catch (IOException | RuntimeException ignored) {
            // the value is not needed to say what was expected
        }
        return (given != null ? "'" + given + "' " : "") + "(expected: " + expected + ")";
    }

    private static String expectedKind(Class<?> type) {
        if (type == null) {
            return "a value of another kind (see docs/configuration.md)";
        }
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class || type == Short.class || type == short.class) {
            return "a whole number";
        }
        if (type == Double.class || type == double.class || type == Float.class || type == float.class) {
            return "a number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        if (type == String.class) {
            return "a text value";
        }
        if (Collection.class.isAssignableFrom(type) || type.isArray()) {
            return "a list, e.g. [a, b]";
        }
        if (Map.class.isAssignableFrom(type) || type.isRecord()) {
            return "a map of names to values, e.g. {key: value}";
        }
        return "a value of another kind (see docs/configuration.md)";
    }

    private static String path(JsonMappingException e) {
        String p = e.getPath().stream()
                .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining(".")).replace(".[", "[");
        return p.isEmpty() ? "(top level)" : p;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        if (t instanceof JsonMappingException jm) {
            return jm.getOriginalMessage();
        }
        return t.getMessage();
    }

    /** Deserialises a scalar through a parse function whose exception message says what was expected. */
    private static final class FromString<T> extends JsonDeserializer<T> {
        private final Function<String, T> parse;

        FromString(Function<String, T> parse) {
            this.parse = parse;
        }

        @Override
        public T deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
            String text = p.getValueAsString();
            if (text == null) {
                throw JsonMappingException.from(p, "expected a scalar value, got " + p.currentToken());
            }
            try {
                return parse.apply(text);
            } catch (IllegalArgumentException e) {
                throw JsonMappingException.from(p, e.getMessage(), e);
            }
        }
    }
}
