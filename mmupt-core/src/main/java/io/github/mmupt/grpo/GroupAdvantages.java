package io.github.mmupt.grpo;

import com.google.common.primitives.ImmutableDoubleArray;
import java.util.List;

/**
 * Advantages of a batch of groups, in the order the groups were given.
 *
 * @param advantages   one array per group, one advantage per response
 * @param zeroVariance per group: all its rewards were equal, so its advantages are exactly zero
 * @param kept         per group: whether it should be trained on (false only for zero-variance groups when
 *                     {@link AdvantageEstimator#dropZeroVarianceGroups()} is set)
 */
public record GroupAdvantages(List<ImmutableDoubleArray> advantages, List<Boolean> zeroVariance, List<Boolean> kept) {

    public GroupAdvantages {
        advantages = List.copyOf(advantages);
        zeroVariance = List.copyOf(zeroVariance);
        kept = List.copyOf(kept);
        if (zeroVariance.size() != advantages.size() || kept.size() != advantages.size()) {
            throw new IllegalArgumentException("one zeroVariance and kept flag per group");
        }
    }

    public int groups() {
        return advantages.size();
    }

    /** Share of groups whose rewards were all equal (TRL's frac_reward_zero_std). */
    public double zeroVarianceShare() {
        return groups() == 0 ? 0.0 : zeroVariance.stream().filter(b -> b).count() / (double) groups();
    }

    public int droppedGroups() {
        return (int) kept.stream().filter(b -> !b).count();
    }
}
