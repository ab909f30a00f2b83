package io.github.mmupt.continual;

/**
 * The label-free signals a guard can watch (and the canary), each as a deviation that grows as the run gets
 * worse: a guard fires when its signal's deviation exceeds its threshold. A deviation that cannot be computed
 * (no canary set, a window without answers) is NaN and never fires.
 */
public enum Signal {
    /** Share of probe prompts whose majority answer differs from the best version's (0..1). */
    PROBE_FLIPS {
        @Override
        double deviation(WindowSignals now, GuardContext c) {
            return now.probe().flipsFrom(c.best().probe(), c.equivalence());
        }
    },
    /**
     * Share of probe prompts whose majority answer differs from the starting model's (0..1): how far the run has
     * moved from the model it started from, which many small accepted steps can add up to.
     */
    PROBE_DRIFT {
        @Override
        double deviation(WindowSignals now, GuardContext c) {
            return now.probe().flipsFrom(c.start().probe(), c.equivalence());
        }
    },
    /**
     * Rise of the probe concentration (the share of probe prompts answered with the single most common answer)
     * over the starting model's: one degenerate answer taking over the votes.
     */
    PROBE_CONCENTRATION {
        @Override
        double deviation(WindowSignals now, GuardContext c) {
            return now.probe().concentration(c.equivalence()) - c.start().probe().concentration(c.equivalence());
        }
    },
    /** Rise of the training vote share over the previous window's: agreement growing too fast to be learning. */
    VOTE_SHARE_JUMP {
        @Override
        double deviation(WindowSignals now, GuardContext c) {
            return now.voteShare() - c.previous().voteShare();
        }
    },
    /** Drop of the probe answer rate below the starting model's (0..1): responses losing their answer. */
    ANSWER_RATE_DROP {
        @Override
        double deviation(WindowSignals now, GuardContext c) {
            return c.start().probe().answerRate() - now.probe().answerRate();
        }
    },
    /** Relative drop of the distinct answers per prompt below the warm-up window's (0..1). */
    DISTINCT_ANSWERS_DROP {
        @Override
        double deviation(WindowSignals now, GuardContext c) {
            return 1 - now.distinctAnswers() / c.warmup().distinctAnswers();
        }
    },
    /** Relative drop of the token entropy below the warm-up window's (0..1). */
    ENTROPY_DROP {
        @Override
        double deviation(WindowSignals now, GuardContext c) {
            return 1 - now.entropy() / c.warmup().entropy();
        }
    },
    /** Relative change of the mean response length from the warm-up window's, either way. */
    LENGTH_CHANGE {
        @Override
        double deviation(WindowSignals now, GuardContext c) {
            return Math.abs(now.responseLength() / c.warmup().responseLength() - 1);
        }
    },
    /** The mean KL to the reference head (0 when the loss has no KL term). */
    KL {
        @Override
        double deviation(WindowSignals now, GuardContext c) {
            return now.kl();
        }
    },
    /**
     * Drop of the canary accuracy below the starting model's (labels: monitoring only): a gate that keeps a version
     * the canary rates below the start from being published.
     */
    CANARY_BELOW_START {
        @Override
        double deviation(WindowSignals now, GuardContext c) {
            return c.start().canaryAccuracy().isPresent() && now.canaryAccuracy().isPresent()
                    ? c.start().canaryAccuracy().getAsDouble() - now.canaryAccuracy().getAsDouble() : Double.NaN;
        }
    },
    /** Drop of the canary accuracy below the best published version's (labels: monitoring only). */
    CANARY_DROP {
        @Override
        double deviation(WindowSignals now, GuardContext c) {
            return c.bestCanary().isPresent() && now.canaryAccuracy().isPresent()
                    ? c.bestCanary().getAsDouble() - now.canaryAccuracy().getAsDouble() : Double.NaN;
        }
    };

    /** How far {@code now} has moved in the bad direction; NaN when it cannot be computed. */
    abstract double deviation(WindowSignals now, GuardContext context);

    /**
     * This signal's deviation for a window.
     *
     * @param now the window's signals
     * @param context what they are compared with
     * @return the deviation; NaN when it cannot be computed
     */
    public double measure(WindowSignals now, GuardContext context) {
        double d = deviation(now, context);
        return Double.isFinite(d) ? d : Double.NaN;
    }
}
