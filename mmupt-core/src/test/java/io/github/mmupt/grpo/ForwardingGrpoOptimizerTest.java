package io.github.mmupt.grpo;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mmupt.train.FakeModels;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import org.junit.jupiter.api.Test;

class ForwardingGrpoOptimizerTest {

    @Test
    void everyMethodOfTheInterfaceForwardsDefaultsIncluded() throws Exception {
        for (Method m : GrpoOptimizer.class.getMethods()) {
            if (Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            // a default left to the interface would hide the delegate's own (the kernel's draw returns true)
            Method declared = ForwardingGrpoOptimizer.class.getDeclaredMethod(m.getName(), m.getParameterTypes());
            assertThat(declared.getDeclaringClass()).as(m.toString()).isEqualTo(ForwardingGrpoOptimizer.class);
        }
    }

    @Test
    void callsReachTheDelegate() {
        GrpoOptimizer inner = FakeModels.optimizer();
        try (GrpoOptimizer wrapped = new ForwardingGrpoOptimizer(inner)) {
            assertThat(wrapped.shape()).isEqualTo(inner.shape());
            assertThat(wrapped.weights()).isEqualTo(inner.weights());
            assertThat(wrapped.temperature()).isEqualTo(inner.temperature());
            assertThat(wrapped.step()).isEqualTo(inner.step());
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(inner::weights).as("closing the wrapper closed it")
                .isInstanceOf(IllegalStateException.class);
    }
}
