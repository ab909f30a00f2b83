package io.github.mmupt.grpo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.google.common.primitives.ImmutableDoubleArray;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.DoubleRange;
import org.junit.jupiter.api.Test;

class AdvantageEstimatorTest {

    @Test
    void mmUptNumbersForTenResponses() {
        // reference, section 1.4: n = 10, k rewarded: k=1 -> +2.846/-0.316, k=5 -> +/-0.949, k=9 -> +0.316/-2.846
        assertRewardedAndNot(1, 2.846, -0.316);
        assertRewardedAndNot(5, 0.949, -0.949);
        assertRewardedAndNot(9, 0.316, -2.846);
    }

    private static void assertRewardedAndNot(int k, double positive, double negative) {
        double[] r = new double[10];
        for (int i = 0; i < k; i++) {
            r[i] = 1;
        }
        ImmutableDoubleArray a = AdvantageEstimator.grpo().compute(List.of(ImmutableDoubleArray.copyOf(r)))
                .advantages().get(0);
        assertThat(a.get(0)).as("k=%d rewarded", k).isCloseTo(positive, within(5e-4));
        assertThat(a.get(9)).as("k=%d unrewarded", k).isCloseTo(negative, within(5e-4));
    }

    @Test
    void allEqualGroupsGiveExactlyZero() {
        GroupAdvantages adv = AdvantageEstimator.grpo().compute(List.of(ImmutableDoubleArray.of(0.3, 0.3, 0.3),
                ImmutableDoubleArray.of(1, 1), ImmutableDoubleArray.of(0, 1)));
        assertThat(adv.advantages().get(0).toArray()).containsOnly(0.0);
        assertThat(adv.advantages().get(1).toArray()).containsOnly(0.0);
        assertThat(adv.zeroVariance()).containsExactly(true, true, false);
        assertThat(adv.kept()).containsOnly(true);
        assertThat(adv.zeroVarianceShare()).isCloseTo(2 / 3.0, within(1e-15));
    }

    @Test
    void zeroVarianceGroupsCanBeDropped() {
        AdvantageEstimator dropping = new AdvantageEstimator(AdvantageScaling.GROUP_STD, 1e-6, true);
        GroupAdvantages adv = dropping.compute(List.of(ImmutableDoubleArray.of(1, 1), ImmutableDoubleArray.of(0, 1)));
        assertThat(adv.kept()).containsExactly(false, true);
        assertThat(adv.droppedGroups()).isEqualTo(1);
    }

    @Test
    void batchAndNoScaling() {
        List<ImmutableDoubleArray> rewards = List.of(ImmutableDoubleArray.of(0, 1), ImmutableDoubleArray.of(0, 0, 0, 1));
        GroupAdvantages none = new AdvantageEstimator(AdvantageScaling.NONE, 1e-6, false).compute(rewards);
        assertThat(none.advantages().get(0).toArray()).containsExactly(-0.5, 0.5);
        assertThat(none.advantages().get(1).toArray()).containsExactly(-0.25, -0.25, -0.25, 0.75);
        // all six rewards: mean 1/3, unbiased std sqrt((4*(1/9) + 2*(4/9)) / 5) = sqrt(4/15)
        double batchStd = Math.sqrt(4.0 / 15);
        GroupAdvantages batch = new AdvantageEstimator(AdvantageScaling.BATCH_STD, 0, false).compute(rewards);
        assertThat(batch.advantages().get(0).get(1)).isCloseTo(0.5 / batchStd, within(1e-12));
        assertThat(batch.advantages().get(1).get(3)).isCloseTo(0.75 / batchStd, within(1e-12));
    }

    @Test
    void badGroupsAreNamed() {
        assertThatThrownBy(() -> AdvantageEstimator.grpo().compute(List.of(ImmutableDoubleArray.of(1))))
                .hasMessageContaining("group 0 has 1 rewards");
        assertThatThrownBy(() -> AdvantageEstimator.grpo().compute(
                List.of(ImmutableDoubleArray.of(0, 1), ImmutableDoubleArray.of(1, Double.NaN))))
                .hasMessageContaining("reward 1 of group 1 is NaN");
    }

    @Provide
    Arbitrary<List<ImmutableDoubleArray>> rewardGroups() {
        Arbitrary<ImmutableDoubleArray> group = Arbitraries.doubles().between(-2, 2).list().ofMinSize(2).ofMaxSize(12)
                .map(ImmutableDoubleArray::copyOf);
        return group.list().ofMinSize(1).ofMaxSize(6);
    }

    @Property
    void advantagesHaveZeroMeanPerGroup(@ForAll("rewardGroups") List<ImmutableDoubleArray> rewards,
            @ForAll AdvantageScaling scaling) {
        GroupAdvantages adv = new AdvantageEstimator(scaling, 1e-6, false).compute(rewards);
        for (ImmutableDoubleArray a : adv.advantages()) {
            double sum = 0;
            double scale = 0;
            for (int i = 0; i < a.length(); i++) {
                sum += a.get(i);
                scale = Math.max(scale, Math.abs(a.get(i)));
            }
            assertThat(sum / a.length()).isCloseTo(0.0, within(1e-9 * (1 + scale)));
        }
    }

    @Property
    void advantagesAreInvariantToAddingAConstant(@ForAll("rewardGroups") List<ImmutableDoubleArray> rewards,
            @ForAll @DoubleRange(min = -5, max = 5) double shift, @ForAll AdvantageScaling scaling) {
        AdvantageEstimator estimator = new AdvantageEstimator(scaling, 1e-6, false);
        List<ImmutableDoubleArray> shifted = new ArrayList<>();
        for (ImmutableDoubleArray r : rewards) {
            double[] s = r.toArray();
            for (int i = 0; i < s.length; i++) {
                s[i] += shift;
            }
            shifted.add(ImmutableDoubleArray.copyOf(s));
        }
        GroupAdvantages a = estimator.compute(rewards);
        GroupAdvantages b = estimator.compute(shifted);
        for (int g = 0; g < rewards.size(); g++) {
            for (int i = 0; i < rewards.get(g).length(); i++) {
                double x = a.advantages().get(g).get(i);
                double y = b.advantages().get(g).get(i);
                // rounding of r + shift can split or merge reward values that were within 1e-15 of each other
                assertThat(y).as("group %d response %d", g, i).isCloseTo(x, within(1e-6 * (1 + Math.abs(x))));
            }
        }
    }

    @Property
    void groupStdAdvantagesHaveUnitStd(@ForAll("rewardGroups") List<ImmutableDoubleArray> rewards) {
        GroupAdvantages adv = new AdvantageEstimator(AdvantageScaling.GROUP_STD, 0, false).compute(rewards);
        for (int g = 0; g < rewards.size(); g++) {
            if (adv.zeroVariance().get(g)) {
                continue;
            }
            ImmutableDoubleArray a = adv.advantages().get(g);
            double ss = 0;
            for (int i = 0; i < a.length(); i++) {
                ss += a.get(i) * a.get(i);
            }
            double std = Math.sqrt(ss / (a.length() - 1));
            if (Double.isFinite(std) && std < 1e6) {
                assertThat(std).isCloseTo(1.0, within(1e-6));
            }
        }
    }
}
