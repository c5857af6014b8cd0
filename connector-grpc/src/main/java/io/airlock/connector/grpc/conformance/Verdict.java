package io.airlock.connector.grpc.conformance;

/** One rule's result: what was checked and what was seen. */
public record Verdict(String rule, Outcome outcome, String detail) {
    public enum Outcome {
        PASS,
        FAIL,
        /** The rule needs something the control plane did not do during the run (e.g. send a command). */
        NOT_RUN
    }

    static Verdict pass(String rule, String detail) {
        return new Verdict(rule, Outcome.PASS, detail);
    }

    static Verdict fail(String rule, String detail) {
        return new Verdict(rule, Outcome.FAIL, detail);
    }

    @Override
    public String toString() {
        return String.format("%-8s %-28s %s", outcome, rule, detail);
    }
}
