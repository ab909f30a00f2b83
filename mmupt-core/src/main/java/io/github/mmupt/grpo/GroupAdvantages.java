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

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param advantages the component {@code advantages}, described with the class
     * @param zeroVariance the component {@code zeroVariance}, described with the class
     * @param kept the component {@code kept}, described with the class
     */
    public GroupAdvantages {
        advantages = List.copyOf(advantages);
        zeroVariance = List.copyOf(zeroVariance);
        kept = List.copyOf(kept);
        if (zeroVariance.size() != advantages.size() || kept.size() != advantages.size()) {
            throw new IllegalArgumentException("one zeroVariance and kept flag per group");
        }
    }

    /** {@return the number of groups} */
    public int groups() {
        return advantages.size();
    }

    /**
     * Share of groups whose rewards were all equal (TRL's frac_reward_zero_std).
     *
     * @return a share in [0, 1]
     */
    public double zeroVarianceShare() {
        return groups() == 0 ? 0.0 : zeroVariance.stream().filter(b -> b).count() / (double) groups();
    }

    /** {@return the groups dropped for zero variance} */
    public int droppedGroups() {
        return (int) kept.stream().filter(b -> !b).count();
    }
}
