package io.github.mmupt.onnx.policy;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.HeadScorer;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.onnx.family.EncodedPrompt;
import io.github.mmupt.onnx.family.PromptPositions;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.rollout.FinishReason;
import io.github.mmupt.rollout.Rollout;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.RolloutSampler;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.seed.Seeds;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * Samples N responses per prompt from an {@link OnnxPolicy} of any model family and the head being trained:
 * the prompt is prefilled once, its KV cache repeated for the N responses, then all N decode together one token
 * per step, each step's presents fed back as the next step's past without a copy, at the positions the family
 * gives (1-D, or M-RoPE's with the prompt's rope delta).
 *
 * <p>The head's logits come from the same {@link GrpoOptimizer} that trains it, and the log-prob recorded for
 * each sampled token is the optimizer's own score of it ({@link GrpoOptimizer#score}), so a later scoring pass
 * over the same sequences gives the same values up to the trunk's floating-point differences between cached
 * and full attention. Log-probs are of the temperature-scaled distribution (before top-k/top-p truncation), so
 * the sampling temperature must equal the loss config's temperature.
 *
 * <p>Determinism: response b of prompt i draws from its own random stream, derived from (seed, i, b).
 * Threading: one call at a time; the head must not be updated during a call. Memory: its per-call buffers are
 * reused from call to call, so steady sampling allocates no new direct memory after the first call; a group's KV
 * cache is bounded by {@link PolicyOptions#kvCacheBudgetBytes()}, and a call whose group cannot fit (N responses
 * x (prompt + maxNewTokens) positions) is refused before anything is decoded, the error naming every factor.
 */
public final class KvCacheSampler implements RolloutSampler {

    private final OnnxPolicy policy;
    private final HeadScorer head;
    private final AnswerExtractor extractor;
    private final boolean evaluation;
    /** Per-call buffers (hidden states, logits, masks, the tiled cache), reused across calls: no direct churn. */
    private final ScratchBuffers scratch = new ScratchBuffers();

    /**
     * A sampler of training rollouts (log-probs recorded).
     *
     * @param policy the trunk
     * @param head the head being trained (a {@link GrpoOptimizer}), which computes the logits and log-probs
     * @param extractor how the final answer is found in a response
     */
    public KvCacheSampler(OnnxPolicy policy, HeadScorer head, AnswerExtractor extractor) {
        this(policy, head, extractor, false);
    }

    /**
     * A sampler for evaluation: any temperature, and no log-probs recorded (rollouts carry empty log-probs), so
     * pass@1 can sample at 0.2 while training uses 0.7.
     *
     * @param policy the trunk
     * @param head the head to evaluate: a frozen one ({@code HeadOptimizers.scorer}) needs no optimizer settings
     * @param extractor how the final answer is found in a response
     * @return a sampler that records no log-probs
     */
    public static KvCacheSampler forEvaluation(OnnxPolicy policy, HeadScorer head, AnswerExtractor extractor) {
        return new KvCacheSampler(policy, head, extractor, true);
    }

    private KvCacheSampler(OnnxPolicy policy, HeadScorer head, AnswerExtractor extractor, boolean evaluation) {
        if (policy == null || head == null || extractor == null) {
            throw new IllegalArgumentException("policy, head and extractor must not be null");
        }
        if (head.shape().hiddenSize() != policy.spec().hiddenSize() || head.shape().vocabSize() != policy.spec().vocabSize()) {
            throw new IllegalArgumentException("the head [V=" + head.shape().vocabSize() + " x d=" + head.shape().hiddenSize()
                    + "] does not fit the policy [V=" + policy.spec().vocabSize() + " x d=" + policy.spec().hiddenSize() + "]");
        }
        this.policy = policy;
        this.head = head;
        this.extractor = extractor;
        this.evaluation = evaluation;
    }

    @Override
    public List<RolloutGroup> sample(List<Prompt> prompts, SamplingParams params, long seed) {
        if (!evaluation && Math.abs(params.temperature() - head.temperature()) > 1e-12) {
            throw new IllegalArgumentException("sampling temperature " + params.temperature() + " differs from the "
                    + "loss temperature " + head.temperature() + ": recorded log-probs would not be the "
                    + "ones training uses (MM-UPT divides logits by the rollout temperature in both)");
        }
        // every prompt is encoded and checked before any decoding, so a group that cannot fit fails the call at once
        List<EncodedPrompt> encoded = new ArrayList<>(prompts.size());
        for (Prompt prompt : prompts) {
            EncodedPrompt e = policy.encode(prompt);
            policy.checkLength(prompt, e.ids().length(), params.maxNewTokens(), "new");
            policy.checkKvCache(prompt, params.responsesPerPrompt(), e.ids().length() + params.maxNewTokens());
            encoded.add(e);
        }
        List<RolloutGroup> groups = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            groups.add(sampleGroup(prompts.get(i), encoded.get(i), i, params, seed));
            encoded.set(i, null); // its pixels are no longer needed
        }
        return groups;
    }

    private RolloutGroup sampleGroup(Prompt prompt, EncodedPrompt encoded, int promptIndex, SamplingParams params,
            long seed) {
        int n = params.responsesPerPrompt();
        int d = policy.spec().hiddenSize();
        int v = policy.spec().vocabSize();
        int pad = policy.family().padToken();
        PromptPositions positions = encoded.positions();
        TrunkSessions sessions = policy.sessions();
        int p = encoded.ids().length();
        int maxNew = params.maxNewTokens();
        int[] stops = params.stopTokenIds().isEmpty() ? policy.spec().endOfSequence().toArray()
                : params.stopTokenIds().toArray();
        SplittableRandom[] rngs = new SplittableRandom[n];
        for (int b = 0; b < n; b++) {
            rngs[b] = new SplittableRandom(Seeds.response(seed, promptIndex, b));
        }
        List<List<Integer>> tokens = new ArrayList<>();
        List<List<Double>> logProbs = new ArrayList<>();
        for (int b = 0; b < n; b++) {
            tokens.add(new ArrayList<>());
            logProbs.add(new ArrayList<>());
        }
        boolean[] finished = new boolean[n];
        boolean[] nonFinite = new boolean[n];
        FloatBuffer lastHidden = scratch.floats("last-hidden", (long) n * d);
        FloatBuffer logits = scratch.floats("logits", (long) n * v);
        KvCache cache;
        FloatBuffer prefillHidden = scratch.floats("prefill-hidden", (long) p * d);
        FloatBuffer prefillEmbeds = sessions.promptEmbeddings(encoded);
        // every step's attention mask is a prefix of it
        LongBuffer allOnes = OnnxPolicy.ones(scratch, "mask", n * (p + maxNew));
        try (KvCache empty = KvCache.empty(sessions, 1)) {
            KvCache single = KvCache.of(sessions, sessions.runDecoder(prefillEmbeds, 1, p,
                    allOnes.duplicate().limit(p).slice(), PositionIds.sequence(scratch, "positions", positions, p),
                    positions.axes(), empty, prefillHidden), p, 1);
            try (single) {
                cache = single.tiled(sessions, n, scratch);
            }
        }
        try {
            for (int b = 0; b < n; b++) {
                FloatBuffer row = prefillHidden.duplicate();
                row.position((p - 1) * d).limit(p * d);
                lastHidden.position(b * d);
                lastHidden.put(row);
            }
            lastHidden.clear();
            for (int step = 0; step < maxNew; step++) {
                HiddenStates hidden = new HiddenStates(n, d, lastHidden);
                head.logits(hidden, logits);
                int[] chosen = new int[n];
                float[] row = new float[v];
                for (int b = 0; b < n; b++) {
                    if (finished[b]) {
                        chosen[b] = pad;
                        continue;
                    }
                    logits.position(b * v);
                    logits.get(row);
                    if (!samplable(row)) {
                        // NaN/Inf hidden states or overflowed logits: end this response here, marked, not the run
                        nonFinite[b] = true;
                        chosen[b] = stops.length > 0 ? stops[0] : pad;
                        continue;
                    }
                    if (step < params.minNewTokens()) {
                        for (int stop : stops) {
                            row[stop] = Float.NEGATIVE_INFINITY;
                        }
                    }
                    chosen[b] = sampleToken(row, params, rngs[b]);
                }
                logits.clear();
                TokenScores scores = null;
                if (!evaluation) {
                    scores = head.score(hidden, ImmutableIntArray.copyOf(chosen), HeadVersion.CURRENT);
                }
                for (int b = 0; b < n; b++) {
                    if (finished[b]) {
                        continue;
                    }
                    tokens.get(b).add(chosen[b]);
                    double lp = scores == null ? 0 : scores.logProbs().get(b);
                    if (scores != null && !(Double.isFinite(lp) && lp <= 0)) {
                        nonFinite[b] = true; // a finite row can still overflow in the log-softmax
                    }
                    if (scores != null) {
                        logProbs.get(b).add(nonFinite[b] ? Double.NaN : lp);
                    }
                    finished[b] = nonFinite[b] || isStop(chosen[b], stops);
                }
                if (allTrue(finished) || step == maxNew - 1) {
                    break;
                }
                int length = p + step + 1;
                FloatBuffer embeds = sessions.tokenEmbeddings(ImmutableIntArray.copyOf(chosen), n, 1, "token-embeds");
                LongBuffer mask = allOnes.duplicate().limit(n * length).slice();
                KvCache next = KvCache.of(sessions, sessions.runDecoder(embeds, n, 1, mask,
                        PositionIds.step(scratch, "positions", positions, length - 1, n), positions.axes(), cache,
                        lastHidden), length, n);
                cache.close();
                cache = next;
            }
        } finally {
            cache.close();
        }
        List<Rollout> rollouts = new ArrayList<>(n);
        for (int b = 0; b < n; b++) {
            ImmutableIntArray ids = ImmutableIntArray.copyOf(tokens.get(b));
            String text = policy.tokenizer().decode(ids);
            Optional<String> answer = extractor.extract(text);
            FinishReason finish = nonFinite[b] ? FinishReason.NON_FINITE
                    : finished[b] ? FinishReason.STOP : FinishReason.LENGTH;
            rollouts.add(new Rollout(ids, ImmutableDoubleArray.copyOf(logProbs.get(b)), text, answer, finish));
        }
        return new RolloutGroup(prompt, rollouts);
    }

    /** Whether a row of logits can be sampled from: no NaN, no +Inf, and not every entry -Inf. */
    static boolean samplable(float[] logits) {
        boolean any = false;
        for (float z : logits) {
            if (Float.isNaN(z) || z == Float.POSITIVE_INFINITY) {
                return false;
            }
            any |= z != Float.NEGATIVE_INFINITY;
        }
        return any;
    }

    /**
     * A token from softmax(logits / temperature), restricted to the top-k and then to the smallest set whose
     * probability reaches top-p.
     */
    static int sampleToken(float[] logits, SamplingParams params, SplittableRandom rng) {
        int v = logits.length;
        double t = params.temperature();
        double max = Double.NEGATIVE_INFINITY;
        for (float z : logits) {
            max = Math.max(max, z / t);
        }
        double[] probs = new double[v];
        double sum = 0;
        for (int i = 0; i < v; i++) {
            probs[i] = Math.exp(logits[i] / t - max);
            sum += probs[i];
        }
        if (params.topK() == 0 && params.topP() >= 1.0) {
            return draw(probs, null, v, sum, rng);
        }
        // descending probability, ties by ascending id: keys sort ascending, so read them from the end
        long[] keys = new long[v];
        for (int i = 0; i < v; i++) {
            keys[i] = ((long) Float.floatToIntBits((float) (probs[i] / sum)) << 32) | (0xFFFFFFFFL - i);
        }
        java.util.Arrays.sort(keys);
        int keep = params.topK() > 0 ? Math.min(params.topK(), v) : v;
        int[] order = new int[keep];
        double mass = 0;
        double kept = 0;
        int cut = 0;
        while (cut < keep) {
            int id = (int) (0xFFFFFFFFL - (keys[v - 1 - cut] & 0xFFFFFFFFL));
            order[cut] = id;
            kept += probs[id];
            mass += probs[id] / sum;
            cut++;
            if (mass >= params.topP()) {
                break;
            }
        }
        return draw(probs, order, cut, kept, rng);
    }

    /** One draw among the first {@code count} candidates (all tokens when {@code order} is null) by weight. */
    private static int draw(double[] probs, int[] order, int count, double total, SplittableRandom rng) {
        double u = rng.nextDouble() * total;
        double acc = 0;
        for (int i = 0; i < count; i++) {
            int id = order == null ? i : order[i];
            acc += probs[id];
            if (u < acc) {
                return id;
            }
        }
        return order == null ? count - 1 : order[count - 1];
    }

    private static boolean isStop(int token, int[] stops) {
        for (int s : stops) {
            if (s == token) {
                return true;
            }
        }
        return false;
    }

    private static boolean allTrue(boolean[] flags) {
        for (boolean f : flags) {
            if (!f) {
                return false;
            }
        }
        return true;
    }
}
