package io.github.mmupt.grpo;

import com.google.common.primitives.ImmutableDoubleArray;
import java.util.ArrayList;
import java.util.List;

/**
 * Group-normalized advantages: {@code A_i = (r_i - mean_group) / scale}, one scalar per response that every
 * token of the response shares.
 *
 * <p>A group whose rewards are all equal (everyone agreed with the majority, or nobody answered) gets
 * advantages of exactly zero, not a rounding residue; such a group gives no policy gradient but still costs
 * compute and enters the KL term, so {@code dropZeroVarianceGroups} (DAPO's dynamic sampling filter) can mark
 * it for removal.
 *
 * <pre>{@code
 * GroupAdvantages adv = AdvantageEstimator.grpo().compute(List.of(ImmutableDoubleArray.of(1, 1, 0, 0)));
 * adv.advantages().get(0);   // [0.866, 0.866, -0.866, -0.866]
 * }</pre>
 *
 * @param scaling                what centred rewards are divided by. GRPO/MM-UPT: group std.
 * @param epsilon                added to the std, &gt;= 0. MM-UPT: 1e-6 (TRL: 1e-4).
 * @param dropZeroVarianceGroups whether all-equal groups are marked not kept. MM-UPT: no.
 */
public record AdvantageEstimator(AdvantageScaling scaling, double epsilon, boolean dropZeroVarianceGroups) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param scaling the component {@code scaling}, described with the class
     * @param epsilon the component {@code epsilon}, described with the class
     * @param dropZeroVarianceGroups the component {@code dropZeroVarianceGroups}, described with the class
     */
    public AdvantageEstimator {
        if (scaling == null) {
            throw new IllegalArgumentException("scaling must not be null");
        }
        if (!(epsilon >= 0 && Double.isFinite(epsilon))) {
            throw new IllegalArgumentException("epsilon must be finite and >= 0, got " + epsilon);
        }
    }

    /**
     * GRPO as MM-UPT runs it: group std, epsilon 1e-6, keep every group.
     *
     * @return group std scaling, epsilon 1e-6, zero-variance groups kept
     */
    public static AdvantageEstimator grpo() {
        return new AdvantageEstimator(AdvantageScaling.GROUP_STD, 1e-6, false);
    }

    /**
     * Advantages of each group's rewards; every group needs at least two responses and finite rewards.
     *
     * @param groupRewards the rewards of each group, one array per prompt
     * @return the advantages, and which groups were kept
     */
    public GroupAdvantages compute(List<ImmutableDoubleArray> groupRewards) {
        if (groupRewards == null) {
            throw new IllegalArgumentException("groupRewards must not be null");
        }
        for (int g = 0; g < groupRewards.size(); g++) {
            ImmutableDoubleArray r = groupRewards.get(g);
            if (r == null || r.length() < 2) {
                throw new IllegalArgumentException("group " + g + " has " + (r == null ? "no" : r.length())
                        + " rewards; group normalization needs at least 2 responses per prompt");
            }
            for (int i = 0; i < r.length(); i++) {
                if (!Double.isFinite(r.get(i))) {
                    throw new IllegalArgumentException("reward " + i + " of group " + g + " is " + r.get(i));
                }
            }
        }
        double batchStd = scaling == AdvantageScaling.BATCH_STD ? batchStd(groupRewards) : Double.NaN;
        List<ImmutableDoubleArray> advantages = new ArrayList<>(groupRewards.size());
        List<Boolean> zeroVariance = new ArrayList<>(groupRewards.size());
        List<Boolean> kept = new ArrayList<>(groupRewards.size());
        for (ImmutableDoubleArray r : groupRewards) {
            boolean allEqual = allEqual(r);
            double[] a = new double[r.length()];
            if (!allEqual) {
                double mean = mean(r);
                double denominator = scaling.denominator(unbiasedStd(r, mean), batchStd, epsilon);
                for (int i = 0; i < a.length; i++) {
                    a[i] = (r.get(i) - mean) / denominator;
                }
            }
            advantages.add(ImmutableDoubleArray.copyOf(a));
            zeroVariance.add(allEqual);
            kept.add(!(allEqual && dropZeroVarianceGroups));
        }
        return new GroupAdvantages(advantages, zeroVariance, kept);
    }

    private static boolean allEqual(ImmutableDoubleArray r) {
        for (int i = 1; i < r.length(); i++) {
            if (r.get(i) != r.get(0)) {
                return false;
            }
        }
        return true;
    }

    private static double mean(ImmutableDoubleArray r) {
        double sum = 0;
        for (int i = 0; i < r.length(); i++) {
            sum += r.get(i);
        }
        return sum / r.length();
    }

    private static double unbiasedStd(ImmutableDoubleArray r, double mean) {
        double ss = 0;
        for (int i = 0; i < r.length(); i++) {
            double d = r.get(i) - mean;
            ss += d * d;
        }
        return Math.sqrt(ss / (r.length() - 1));
    }

    private static double batchStd(List<ImmutableDoubleArray> groups) {
        ImmutableDoubleArray.Builder all = ImmutableDoubleArray.builder();
        groups.forEach(all::addAll);
        ImmutableDoubleArray rewards = all.build();
        return unbiasedStd(rewards, mean(rewards));
    }
}
