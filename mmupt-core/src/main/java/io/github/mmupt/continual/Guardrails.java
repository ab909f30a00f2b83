package io.github.mmupt.continual;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The set of guards a continual run checks after every window, with documented defaults.
 *
 * <p>{@link #defaults()} (thresholds chosen on seeds 1-3 of the embedded default's continual demonstration, and
 * reported on seeds 4-6; see the README):
 * <table>
 * <caption>default guards</caption>
 * <tr><th>signal</th><th>fires above</th><th>action</th><th>compared with</th></tr>
 * <tr><td>{@link Signal#PROBE_FLIPS}</td><td>0.20</td><td>ROLLBACK</td><td>the best version's probe majorities</td></tr>
 * <tr><td>{@link Signal#PROBE_DRIFT}</td><td>0.25</td><td>ROLLBACK</td><td>the starting model's probe majorities</td></tr>
 * <tr><td>{@link Signal#PROBE_CONCENTRATION}</td><td>0.15</td><td>ROLLBACK</td><td>the starting model's</td></tr>
 * <tr><td>{@link Signal#ANSWER_RATE_DROP}</td><td>0.10</td><td>ROLLBACK</td><td>the starting model's probe answer rate</td></tr>
 * <tr><td>{@link Signal#CANARY_DROP}</td><td>0.06</td><td>ROLLBACK</td><td>the best published canary accuracy</td></tr>
 * <tr><td>{@link Signal#CANARY_BELOW_START}</td><td>0.02</td><td>HOLD</td><td>the starting model's canary accuracy</td></tr>
 * <tr><td>{@link Signal#VOTE_SHARE_JUMP}</td><td>0.10</td><td>LOWER_LEARNING_RATE</td><td>the previous window</td></tr>
 * <tr><td>{@link Signal#LENGTH_CHANGE}</td><td>0.50</td><td>HOLD</td><td>the warm-up window</td></tr>
 * <tr><td>{@link Signal#DISTINCT_ANSWERS_DROP}</td><td>0.60</td><td>WARN</td><td>the warm-up window</td></tr>
 * <tr><td>{@link Signal#ENTROPY_DROP}</td><td>0.90</td><td>WARN</td><td>the warm-up window</td></tr>
 * <tr><td>{@link Signal#KL}</td><td>0.50</td><td>WARN</td><td>absolute</td></tr>
 * </table>
 * Entropy and the number of distinct answers fall in healthy runs too (the model grows confident), so they only
 * warn. Detection delay: a guard sees a window when it ends, so a deviation that crosses its threshold during
 * window w fires at the end of window w.
 *
 * <pre>{@code
 * Guardrails guards = Guardrails.defaults().with(new Guard(Signal.PROBE_FLIPS, 0.3, GuardAction.HOLD));
 * }</pre>
 *
 * @param guards the guards, at most one per signal
 */
public record Guardrails(List<Guard> guards) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param guards the component {@code guards}, described with the class
     */
    public Guardrails {
        if (guards == null) {
            throw new IllegalArgumentException("guards must not be null");
        }
        guards = List.copyOf(guards);
        if (guards.stream().map(Guard::signal).distinct().count() != guards.size()) {
            throw new IllegalArgumentException("at most one guard per signal: " + guards);
        }
    }

    /** {@return the default guards (see the class description)} */
    public static Guardrails defaults() {
        return new Guardrails(List.of(
                new Guard(Signal.PROBE_FLIPS, 0.20, GuardAction.ROLLBACK),
                new Guard(Signal.PROBE_DRIFT, 0.25, GuardAction.ROLLBACK),
                new Guard(Signal.PROBE_CONCENTRATION, 0.15, GuardAction.ROLLBACK),
                new Guard(Signal.ANSWER_RATE_DROP, 0.10, GuardAction.ROLLBACK),
                new Guard(Signal.CANARY_DROP, 0.06, GuardAction.ROLLBACK),
                new Guard(Signal.CANARY_BELOW_START, 0.02, GuardAction.HOLD),
                new Guard(Signal.VOTE_SHARE_JUMP, 0.10, GuardAction.LOWER_LEARNING_RATE),
                new Guard(Signal.LENGTH_CHANGE, 0.50, GuardAction.HOLD),
                new Guard(Signal.DISTINCT_ANSWERS_DROP, 0.60, GuardAction.WARN),
                new Guard(Signal.ENTROPY_DROP, 0.90, GuardAction.WARN),
                new Guard(Signal.KL, 0.50, GuardAction.WARN)));
    }

    /** {@return no guards: every window is published (the unguarded run)} */
    public static Guardrails off() {
        return new Guardrails(List.of());
    }

    /**
     * The same guards, each only warning: a shadow run that logs (and lets listeners see) what the guards would
     * have done, and publishes every window.
     *
     * @return new guardrails
     */
    public Guardrails warnOnly() {
        return new Guardrails(guards.stream().map(g -> new Guard(g.signal(), g.threshold(), GuardAction.WARN)).toList());
    }

    /**
     * These guardrails with {@code guard} replacing the one on the same signal (or added).
     *
     * @param guard the guard
     * @return new guardrails
     */
    public Guardrails with(Guard guard) {
        List<Guard> out = new ArrayList<>(without(guard.signal()).guards);
        out.add(guard);
        return new Guardrails(out);
    }

    /**
     * These guardrails without the guard on {@code signal}.
     *
     * @param signal the signal
     * @return new guardrails
     */
    public Guardrails without(Signal signal) {
        return new Guardrails(guards.stream().filter(g -> g.signal() != signal).toList());
    }

    /**
     * Judges one window.
     *
     * @param now the window's signals
     * @param context what they are compared with
     * @return every guard's event and the resulting action
     */
    public GuardDecision evaluate(WindowSignals now, GuardContext context) {
        List<GuardEvent> events = new ArrayList<>();
        Optional<GuardAction> action = Optional.empty();
        for (Guard g : guards) {
            double value = g.signal().measure(now, context);
            boolean fired = !Double.isNaN(value) && value > g.threshold();
            events.add(new GuardEvent(g, value, fired));
            if (fired && (action.isEmpty() || g.action().compareTo(action.get()) > 0)) {
                action = Optional.of(g.action());
            }
        }
        return new GuardDecision(events, action);
    }
}
