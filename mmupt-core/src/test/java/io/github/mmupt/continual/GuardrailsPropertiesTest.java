package io.github.mmupt.continual;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mmupt.answer.AnswerEquivalence;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * The guards on synthetic signal streams: a flat stream (healthy noise around the baseline) never triggers the
 * defaults, and a collapse (one answer taking over the probe's majorities, or the canary falling) always does,
 * at the end of the first window whose deviation crosses the threshold: the documented delay of one window.
 */
class GuardrailsPropertiesTest {

    private static final AnswerEquivalence EQ = AnswerEquivalence.standard();
    private static final int PROBES = 64;

    /** Probe majorities spread over the answers 1..9, as a healthy model answers varied questions. */
    private static List<Optional<String>> varied(long seed) {
        Random r = new Random(seed);
        List<Optional<String>> out = new ArrayList<>();
        for (int i = 0; i < PROBES; i++) {
            out.add(Optional.of(String.valueOf(1 + (i + r.nextInt(2)) % 9)));
        }
        return out;
    }

    private static WindowSignals window(long w, List<Optional<String>> majorities, double voteShare, double entropy,
            double length, OptionalDouble canary) {
        return new WindowSignals(w, 10 * w, voteShare, 2.0, 0.99, entropy, length, 0.01,
                new ProbeReading(majorities, voteShare, 0.99), canary);
    }

    @Property(tries = 100)
    void aFlatStreamNeverTriggers(@ForAll("seeds") long seed, @ForAll @IntRange(min = 1, max = 40) int windows,
            @ForAll @DoubleRange(min = 0.0, max = 0.08) double noise) {
        Random r = new Random(seed);
        List<Optional<String>> base = varied(seed);
        WindowSignals start = window(0, base, Double.NaN, Double.NaN, Double.NaN, OptionalDouble.of(0.8));
        WindowSignals warmup = window(1, base, 0.75, 0.20, 9.0, OptionalDouble.of(0.8));
        WindowSignals previous = warmup;
        for (int w = 2; w <= windows + 1; w++) {
            // up to 10% of probe majorities move (noise), signals wobble by up to `noise` around the warm-up
            List<Optional<String>> now = new ArrayList<>(base);
            for (int i = 0; i < PROBES / 10; i++) {
                int k = r.nextInt(PROBES);
                now.set(k, Optional.of(String.valueOf(1 + r.nextInt(9))));
            }
            WindowSignals signals = window(w, now, 0.75 + noise * (r.nextDouble() - 0.5), 0.20 * (1 - noise * r.nextDouble()),
                    9.0 * (1 + noise * (r.nextDouble() - 0.5)), OptionalDouble.of(0.8 + 0.04 * r.nextDouble()));
            GuardDecision d = Guardrails.defaults().evaluate(signals,
                    new GuardContext(start, warmup, previous, warmup, OptionalDouble.of(0.8), EQ));
            assertThat(d.fired()).as("window %d of a flat stream", w).isEmpty();
            previous = signals;
        }
    }

    @Property(tries = 200)
    void aDegenerateAnswerTakingOverTriggersWithinOneWindow(@ForAll("seeds") long seed,
            @ForAll @IntRange(min = 1, max = 12) int promptsTakenPerWindow) {
        List<Optional<String>> base = varied(seed);
        WindowSignals start = window(0, base, Double.NaN, Double.NaN, Double.NaN, OptionalDouble.empty());
        WindowSignals warmup = window(1, base, 0.75, 0.20, 9.0, OptionalDouble.empty());
        List<Optional<String>> now = new ArrayList<>(base);
        for (int w = 2; w < 200; w++) {
            for (int i = 0; i < promptsTakenPerWindow; i++) {
                now.set(((w - 2) * promptsTakenPerWindow + i) % PROBES, Optional.of("7"));
            }
            WindowSignals signals = window(w, new ArrayList<>(now), 0.75, 0.20, 9.0, OptionalDouble.empty());
            GuardContext context = new GuardContext(start, warmup, warmup, warmup, OptionalDouble.empty(), EQ);
            double flips = signals.probe().flipsFrom(warmup.probe(), EQ);
            double rise = signals.probe().concentration(EQ) - start.probe().concentration(EQ);
            boolean crossed = flips > 0.20 || rise > 0.15;
            GuardDecision d = Guardrails.defaults().evaluate(signals, context);
            // fires exactly when a threshold is crossed: never before, and in the very window it happens
            assertThat(d.action().isPresent()).as("window %d: flips %.3f, concentration rise %.3f", w, flips, rise)
                    .isEqualTo(crossed);
            if (crossed) {
                assertThat(d.action()).contains(GuardAction.ROLLBACK);
                return;
            }
        }
        throw new AssertionError("the collapse never crossed a threshold");
    }

    @Property(tries = 100)
    void aFallingCanaryTriggersARollback(@ForAll @DoubleRange(min = 0.07, max = 0.5) double drop) {
        List<Optional<String>> base = varied(1);
        WindowSignals start = window(0, base, Double.NaN, Double.NaN, Double.NaN, OptionalDouble.of(0.9));
        WindowSignals warmup = window(1, base, 0.75, 0.20, 9.0, OptionalDouble.of(0.9));
        WindowSignals now = window(2, base, 0.75, 0.20, 9.0, OptionalDouble.of(0.9 - drop));
        GuardDecision d = Guardrails.defaults().evaluate(now,
                new GuardContext(start, warmup, warmup, warmup, OptionalDouble.of(0.9), EQ));
        assertThat(d.fired()).extracting(e -> e.guard().signal())
                .containsExactlyInAnyOrder(Signal.CANARY_DROP, Signal.CANARY_BELOW_START);
        assertThat(d.action()).contains(GuardAction.ROLLBACK);
    }

    @Property(tries = 100)
    void aCanaryJustBelowTheStartHoldsPublishing(@ForAll @DoubleRange(min = 0.03, max = 0.05) double dip) {
        List<Optional<String>> base = varied(2);
        WindowSignals start = window(0, base, Double.NaN, Double.NaN, Double.NaN, OptionalDouble.of(0.8));
        WindowSignals warmup = window(1, base, 0.75, 0.20, 9.0, OptionalDouble.of(0.8));
        WindowSignals now = window(2, base, 0.75, 0.20, 9.0, OptionalDouble.of(0.8 - dip));
        GuardDecision d = Guardrails.defaults().evaluate(now,
                new GuardContext(start, warmup, warmup, warmup, OptionalDouble.of(0.8), EQ));
        assertThat(d.fired()).extracting(e -> e.guard().signal()).containsExactly(Signal.CANARY_BELOW_START);
        assertThat(d.action()).contains(GuardAction.HOLD);
    }

    @Test
    void theMostSevereActionWinsAndMissingSignalsNeverFire() {
        List<Optional<String>> base = varied(3);
        WindowSignals start = window(0, base, Double.NaN, Double.NaN, Double.NaN, OptionalDouble.empty());
        WindowSignals warmup = window(1, base, 0.75, 0.20, 9.0, OptionalDouble.empty());
        // vote share jumps (lower the learning rate) and the length doubles (hold): hold wins
        WindowSignals now = window(2, base, 0.90, 0.20, 18.0, OptionalDouble.empty());
        GuardDecision d = Guardrails.defaults().evaluate(now,
                new GuardContext(start, warmup, warmup, warmup, OptionalDouble.empty(), EQ));
        assertThat(d.fired()).extracting(e -> e.guard().signal())
                .containsExactlyInAnyOrder(Signal.VOTE_SHARE_JUMP, Signal.LENGTH_CHANGE);
        assertThat(d.action()).contains(GuardAction.HOLD);
        assertThat(d.publishes()).isFalse();
        assertThat(d.events()).filteredOn(e -> e.guard().signal() == Signal.CANARY_DROP)
                .allSatisfy(e -> assertThat(e.value()).isNaN());
        GuardContext context = new GuardContext(start, warmup, warmup, warmup, OptionalDouble.empty(), EQ);
        assertThat(Guardrails.off().evaluate(now, context).publishes()).isTrue();
        GuardDecision shadow = Guardrails.defaults().warnOnly().evaluate(now, context);
        assertThat(shadow.fired()).hasSize(2);
        assertThat(shadow.action()).contains(GuardAction.WARN);
        assertThat(shadow.publishes()).isTrue();
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<Long> seeds() {
        return net.jqwik.api.Arbitraries.longs().between(0, 1_000_000);
    }
}
