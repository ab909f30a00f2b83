package io.github.mmupt.continual;

import java.util.List;
import java.util.Optional;

/**
 * The guards' verdict on one window: every guard's event and the most severe action among those that fired.
 *
 * @param events one per guard, in the guardrails' order
 * @param action the most severe action of a fired guard; empty when none fired (the version is accepted)
 */
public record GuardDecision(List<GuardEvent> events, Optional<GuardAction> action) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param events the component {@code events}, described with the class
     * @param action the component {@code action}, described with the class
     */
    public GuardDecision {
        if (events == null || action == null) {
            throw new IllegalArgumentException("events and action must not be null");
        }
        events = List.copyOf(events);
    }

    /** {@return whether the window's version may be published: no guard fired, or only ones that still publish} */
    public boolean publishes() {
        return action.map(GuardAction::publishes).orElse(true);
    }

    /** {@return the guards that fired} */
    public List<GuardEvent> fired() {
        return events.stream().filter(GuardEvent::fired).toList();
    }
}
