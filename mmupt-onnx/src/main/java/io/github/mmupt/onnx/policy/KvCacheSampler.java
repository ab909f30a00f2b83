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
 * each prompt is prefilled once and its KV cache repeated for the N responses; the groups of up to
 * {@link #withPromptsPerBatch} prompts then decode together one token per step (shorter prompts left-padded and
 * masked, the batch compacted once half its rows finished), each step's presents fed back as the next step's
 * past without a copy, at the positions the family gives (1-D, or M-RoPE's with each prompt's rope delta).
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

    /** Prompts decoded together by default: 8 (the sampling benchmark's shape). */
    public static final int DEFAULT_PROMPTS_PER_BATCH = 8;

    private final OnnxPolicy policy;
    private final HeadScorer head;
    private final AnswerExtractor extractor;
    private final boolean evaluation;
    private final int promptsPerBatch;
    /** Per-call buffers (hidden states, logits, masks, the stacked cache), reused across calls: no direct churn. */
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
        this(policy, head, extractor, evaluation, DEFAULT_PROMPTS_PER_BATCH);
    }

    private KvCacheSampler(OnnxPolicy policy, HeadScorer head, AnswerExtractor extractor, boolean evaluation,
            int promptsPerBatch) {
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
        if (promptsPerBatch < 1) {
            throw new IllegalArgumentException("promptsPerBatch must be >= 1, got " + promptsPerBatch);
        }
        this.promptsPerBatch = promptsPerBatch;
    }

    /**
     * This sampler decoding up to {@code prompts} prompts' groups together (default
     * {@value #DEFAULT_PROMPTS_PER_BATCH}), fewer where the KV-cache budget says so; 1 decodes one group at a time.
     * Rows of a shorter prompt are left-padded and masked, so each group's rollouts are what decoding it alone
     * gives, up to the trunk's floating-point differences between batch sizes.
     *
     * @param prompts prompts per decode batch, >= 1
     * @return the changed sampler
     */
    public KvCacheSampler withPromptsPerBatch(int prompts) {
        return new KvCacheSampler(policy, head, extractor, evaluation, prompts);
    }

    @Override
    public List<RolloutGroup> sample(List<Prompt> prompts, SamplingParams params, long seed) {
        if (!evaluation && Math.abs(params.temperature() - head.temperature()) > 1e-12) {
            throw new IllegalArgumentException("sampling temperature " + params.temperature() + " differs from the "
                    + "loss temperature " + head.temperature() + ": recorded log-probs would not be the "
                    + "ones training uses (MM-UPT divides logits by the rollout temperature in both)");
        }
        // every prompt is encoded and checked before any decoding, so a group that cannot fit fails the call at once;
        // only its length is kept: a step's prompts' pixels (512 images at MM-UPT's size) would not be bounded
        int[] promptTokens = new int[prompts.size()];
        for (int i = 0; i < prompts.size(); i++) {
            Prompt prompt = prompts.get(i);
            promptTokens[i] = policy.encode(prompt).ids().length();
            policy.checkLength(prompt, promptTokens[i], params.maxNewTokens(), "new");
            policy.checkKvCache(prompt, params.responsesPerPrompt(), promptTokens[i] + params.maxNewTokens());
        }
        List<RolloutGroup> groups = new ArrayList<>(prompts.size());
        int first = 0;
        while (first < prompts.size()) {
            // as many prompts as the decode batch and the KV budget allow, decoded together
            int end = first + 1;
            int longest = promptTokens[first];
            while (end < prompts.size() && end - first < promptsPerBatch) {
                int longer = Math.max(longest, promptTokens[end]);
                if (!policy.fitsKvCache((end - first + 1) * params.responsesPerPrompt(), longer + params.maxNewTokens())) {
                    break;
                }
                longest = longer;
                end++;
            }
            // encoded again, one batch at a time (the encoding is deterministic): at most a batch's pixels live
            List<EncodedPrompt> encoded = new ArrayList<>(end - first);
            for (Prompt prompt : prompts.subList(first, end)) {
                encoded.add(policy.encode(prompt));
            }
            groups.addAll(sampleBatch(prompts.subList(first, end), encoded, first, params, seed));
            first = end;
        }
        return groups;
    }

    /**
     * Samples the groups of {@code batch} prompts together: each prompt is prefilled alone (exact, whatever its
     * length), the caches are stacked left-padded to the longest, and every step decodes all G x N rows in one run
     * with each row's own attention mask and positions.
     */
    private List<RolloutGroup> sampleBatch(List<Prompt> batch, List<EncodedPrompt> encoded, int firstIndex,
            SamplingParams params, long seed) {
        int g = batch.size();
        int n = params.responsesPerPrompt();
        int rows = g * n;
        int d = policy.spec().hiddenSize();
        int v = policy.spec().vocabSize();
        int pad = policy.family().padToken();
        TrunkSessions sessions = policy.sessions();
        int maxNew = params.maxNewTokens();
        int[] stops = params.stopTokenIds().isEmpty() ? policy.spec().endOfSequence().toArray()
                : params.stopTokenIds().toArray();
        int[] lengths = new int[g];
        List<PromptPositions> positions = new ArrayList<>(g);
        int longest = 0;
        for (int i = 0; i < g; i++) {
            lengths[i] = encoded.get(i).ids().length();
            positions.add(encoded.get(i).positions());
            longest = Math.max(longest, lengths[i]);
        }
        SplittableRandom[] rngs = new SplittableRandom[rows];
        List<List<Integer>> tokens = new ArrayList<>();
        List<List<Double>> logProbs = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            rngs[r] = new SplittableRandom(Seeds.response(seed, firstIndex + r / n, r % n));
            tokens.add(new ArrayList<>());
            logProbs.add(new ArrayList<>());
        }
        boolean[] finished = new boolean[rows];
        boolean[] nonFinite = new boolean[rows];
        FloatBuffer lastHidden = scratch.floats("last-hidden", (long) rows * d);
        FloatBuffer logits = scratch.floats("logits", (long) rows * v);
        KvCache cache = prefill(encoded, n, longest, lastHidden);
        // the rows still decoding, as indices into all rows: when half of them have finished, the batch is
        // compacted to the rest (their cache rows copied once), so a long response does not keep the others' rows
        int[] live = new int[rows];
        for (int r = 0; r < rows; r++) {
            live[r] = r;
        }
        try {
            for (int step = 0; step < maxNew; step++) {
                int width = live.length;
                HiddenStates hidden = new HiddenStates(width, d, lastHidden.duplicate().limit(width * d));
                head.logits(hidden, logits);
                double[] uniform = new double[width];
                boolean[] done = new boolean[width];
                for (int j = 0; j < width; j++) {
                    done[j] = finished[live[j]];
                    uniform[j] = done[j] ? 0 : rngs[live[j]].nextDouble(); // one draw per sampled token, either path
                }
                int[] banned = step < params.minNewTokens() ? stops : NONE;
                int[] chosen = new int[width];
                // the head's own draw where it has one (the kernel's SIMD exp and, for top-p, a radix select: what
                // makes a 151,936-token vocabulary cheap to sample); top-k, or a head without one: the Java draw
                if (!(params.topK() == 0
                        && head.draw(logits, width, params.temperature(), params.topP(), uniform, banned, done, chosen))) {
                    javaDraw(logits, width, v, params, uniform, banned, done, chosen);
                }
                for (int j = 0; j < width; j++) {
                    if (done[j]) {
                        chosen[j] = pad;
                    } else if (chosen[j] < 0) {
                        // NaN/Inf hidden states or overflowed logits: end this response here, marked, not the run
                        nonFinite[live[j]] = true;
                        chosen[j] = stops.length > 0 ? stops[0] : pad;
                    }
                }
                logits.clear();
                TokenScores scores = null;
                if (!evaluation) {
                    scores = head.score(hidden, ImmutableIntArray.copyOf(chosen), HeadVersion.CURRENT);
                }
                int running = 0;
                for (int j = 0; j < width; j++) {
                    int b = live[j];
                    if (done[j]) {
                        continue;
                    }
                    tokens.get(b).add(chosen[j]);
                    double lp = scores == null ? 0 : scores.logProbs().get(j);
                    if (scores != null && !(Double.isFinite(lp) && lp <= 0)) {
                        nonFinite[b] = true; // a finite row can still overflow in the log-softmax
                    }
                    if (scores != null) {
                        logProbs.get(b).add(nonFinite[b] ? Double.NaN : lp);
                    }
                    finished[b] = nonFinite[b] || isStop(chosen[j], stops);
                    running += finished[b] ? 0 : 1;
                }
                if (running == 0 || step == maxNew - 1) {
                    break;
                }
                int total = longest + step + 1;
                FloatBuffer embeds = sessions.tokenEmbeddings(ImmutableIntArray.copyOf(chosen), width, 1, "token-embeds");
                int[] rowGroup = new int[width];
                for (int j = 0; j < width; j++) {
                    rowGroup[j] = live[j] / n;
                }
                int[] next = new int[g];
                for (int i = 0; i < g; i++) {
                    next[i] = lengths[i] + step; // the new token's index in prompt i's own sequence
                }
                KvCache grown = KvCache.of(sessions, sessions.runDecoder(embeds, width, 1,
                        paddedMask(lengths, rowGroup, longest, total),
                        PositionIds.steps(scratch, "positions", positions, rowGroup, next), positions.get(0).axes(), cache,
                        lastHidden.duplicate().limit(width * d).slice()), total, width);
                cache.close();
                cache = grown;
                if (running <= width / 2) {
                    int[] keep = new int[running];
                    int[] nextLive = new int[running];
                    for (int j = 0, k = 0; j < width; j++) {
                        if (!finished[live[j]]) {
                            keep[k] = j;
                            nextLive[k++] = live[j];
                        }
                    }
                    KvCache compact = cache.gather(sessions, keep, scratch, "compact"); // from ORT-owned presents
                    cache.close();
                    cache = compact;
                    for (int k = 0; k < running; k++) { // keep[k] >= k: moving rows down never overwrites one still needed
                        FloatBuffer from = lastHidden.duplicate();
                        from.position(keep[k] * d).limit((keep[k] + 1) * d);
                        lastHidden.duplicate().position(k * d).put(from);
                    }
                    live = nextLive;
                }
            }
        } finally {
            cache.close();
        }
        List<RolloutGroup> groups = new ArrayList<>(g);
        for (int i = 0; i < g; i++) {
            List<Rollout> rollouts = new ArrayList<>(n);
            for (int b = i * n; b < (i + 1) * n; b++) {
                ImmutableIntArray ids = ImmutableIntArray.copyOf(tokens.get(b));
                String text = policy.tokenizer().decode(ids);
                Optional<String> answer = extractor.extract(text);
                FinishReason finish = nonFinite[b] ? FinishReason.NON_FINITE
                        : finished[b] ? FinishReason.STOP : FinishReason.LENGTH;
                rollouts.add(new Rollout(ids, ImmutableDoubleArray.copyOf(logProbs.get(b)), text, answer, finish));
            }
            groups.add(new RolloutGroup(batch.get(i), rollouts));
        }
        return groups;
    }

    /**
     * Prefills each prompt alone and stacks the caches, {@code n} rows per prompt, left-padded to {@code longest};
     * each row's last prompt state goes into {@code lastHidden}.
     */
    private KvCache prefill(List<EncodedPrompt> encoded, int n, int longest, FloatBuffer lastHidden) {
        TrunkSessions sessions = policy.sessions();
        int d = policy.spec().hiddenSize();
        List<KvCache> singles = new ArrayList<>(encoded.size());
        try {
            for (int i = 0; i < encoded.size(); i++) {
                EncodedPrompt e = encoded.get(i);
                int p = e.ids().length();
                FloatBuffer prefillHidden = scratch.floats("prefill-hidden", (long) p * d);
                try (KvCache empty = KvCache.empty(sessions, 1)) {
                    singles.add(KvCache.of(sessions, sessions.runDecoder(sessions.promptEmbeddings(e), 1, p,
                            OnnxPolicy.ones(scratch, "prefill-mask", p), PositionIds.sequence(scratch, "positions",
                                    e.positions(), p), e.positions().axes(), empty, prefillHidden), p, 1));
                }
                for (int b = 0; b < n; b++) {
                    FloatBuffer row = prefillHidden.duplicate();
                    row.position((p - 1) * d).limit(p * d);
                    lastHidden.position((i * n + b) * d);
                    lastHidden.put(row);
                }
            }
            lastHidden.clear();
            return KvCache.stacked(sessions, singles, n, longest, scratch);
        } finally {
            singles.forEach(KvCache::close);
        }
    }

    /**
     * The attention mask of a decode step: a row of prompt i ({@code rowGroup}) hides the {@code longest -
     * lengths[i]} padded positions before its prompt.
     */
    private LongBuffer paddedMask(int[] lengths, int[] rowGroup, int longest, int total) {
        LongBuffer mask = scratch.longs("mask", (long) rowGroup.length * total);
        for (int r = 0; r < rowGroup.length; r++) {
            int hidden = longest - lengths[rowGroup[r]];
            for (int t = 0; t < total; t++) {
                mask.put(r * total + t, t < hidden ? 0L : 1L);
            }
        }
        return mask;
    }

    private static final int[] NONE = new int[0];

    /** The Java draw of every unfinished row: -1 for a row that cannot be sampled. */
    private static void javaDraw(FloatBuffer logits, int rows, int v, SamplingParams params, double[] uniform,
            int[] banned, boolean[] finished, int[] chosen) {
        float[] row = new float[v];
        for (int b = 0; b < rows; b++) {
            if (finished[b]) {
                continue;
            }
            logits.position(b * v);
            logits.get(row);
            if (!samplable(row)) {
                chosen[b] = -1;
                continue;
            }
            for (int stop : banned) {
                row[stop] = Float.NEGATIVE_INFINITY;
            }
            chosen[b] = sampleToken(row, params, uniform[b]);
        }
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
    static int sampleToken(float[] logits, SamplingParams params, double uniform) {
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
            return draw(probs, null, v, sum, uniform);
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
        return draw(probs, order, cut, kept, uniform);
    }

    /** One draw among the first {@code count} candidates (all tokens when {@code order} is null) by weight. */
    private static int draw(double[] probs, int[] order, int count, double total, double uniform) {
        double u = uniform * total;
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
