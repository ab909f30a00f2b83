package io.github.mmupt.answer;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Optional;

/**
 * An exact rational number, always in lowest terms with a positive denominator, so that equal values are
 * equal objects: {@code 0.5}, {@code 1/2}, {@code 2/4} and {@code 50/100} all become {@code 1/2}.
 *
 * <p>Used by {@link AnswerEquivalence} to compare numeric answers without any tolerance. Operations that
 * would build numbers beyond {@link #MAX_BITS} bits return empty instead, so that a hostile answer such as
 * {@code 10^{10^9}} cannot exhaust memory; such answers are then compared approximately or as text.
 */
record Rational(BigInteger numerator, BigInteger denominator) implements Comparable<Rational> {

    /** Largest numerator or denominator, in bits, that arithmetic will produce. */
    static final int MAX_BITS = 4096;

    static final Rational ZERO = new Rational(BigInteger.ZERO, BigInteger.ONE);
    static final Rational ONE = new Rational(BigInteger.ONE, BigInteger.ONE);

    Rational {
        if (denominator.signum() == 0) {
            throw new ArithmeticException("zero denominator");
        }
        if (denominator.signum() < 0) {
            numerator = numerator.negate();
            denominator = denominator.negate();
        }
        BigInteger g = numerator.gcd(denominator);
        if (!g.equals(BigInteger.ONE) && g.signum() != 0) {
            numerator = numerator.divide(g);
            denominator = denominator.divide(g);
        }
        if (numerator.signum() == 0) {
            denominator = BigInteger.ONE;
        }
    }

    static Rational of(long n) {
        return new Rational(BigInteger.valueOf(n), BigInteger.ONE);
    }

    static Rational of(long n, long d) {
        return new Rational(BigInteger.valueOf(n), BigInteger.valueOf(d));
    }

    /**
     * Parses a plain decimal literal: digits with an optional fraction part and an optional exponent
     * ({@code 12}, {@code -0.125}, {@code .5}, {@code 1.5e3}). Returns empty for anything else.
     */
    static Optional<Rational> parseDecimal(String s) {
        if (s.isEmpty() || s.length() > 400) {
            return Optional.empty();
        }
        try {
            BigDecimal d = new BigDecimal(s);
            if (Math.abs((long) d.scale()) > 1000) {
                return Optional.empty();
            }
            return Optional.of(fromBigDecimal(d));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    static Rational fromBigDecimal(BigDecimal d) {
        if (d.scale() <= 0) {
            return new Rational(d.toBigIntegerExact(), BigInteger.ONE);
        }
        return new Rational(d.unscaledValue(), BigInteger.TEN.pow(d.scale()));
    }

    boolean isInteger() {
        return denominator.equals(BigInteger.ONE);
    }

    int signum() {
        return numerator.signum();
    }

    Rational negate() {
        return new Rational(numerator.negate(), denominator);
    }

    Optional<Rational> plus(Rational o) {
        return bounded(new Rational(numerator.multiply(o.denominator).add(o.numerator.multiply(denominator)),
                denominator.multiply(o.denominator)));
    }

    Optional<Rational> minus(Rational o) {
        return plus(o.negate());
    }

    Optional<Rational> times(Rational o) {
        return bounded(new Rational(numerator.multiply(o.numerator), denominator.multiply(o.denominator)));
    }

    Optional<Rational> dividedBy(Rational o) {
        if (o.signum() == 0) {
            return Optional.empty();
        }
        return bounded(new Rational(numerator.multiply(o.denominator), denominator.multiply(o.numerator)));
    }

    /** This value to an integer power, or empty when the result would be too large or is undefined. */
    Optional<Rational> pow(Rational exponent) {
        if (!exponent.isInteger() || exponent.numerator.bitLength() > 31) {
            return Optional.empty();
        }
        int e = exponent.numerator.intValueExact();
        if (e == 0) {
            return signum() == 0 ? Optional.empty() : Optional.of(ONE);
        }
        long bits = (long) Math.max(numerator.bitLength(), denominator.bitLength()) * Math.abs((long) e);
        if (bits > MAX_BITS) {
            return Optional.empty();
        }
        Rational base = this;
        if (e < 0) {
            if (signum() == 0) {
                return Optional.empty();
            }
            base = new Rational(denominator, numerator);
            e = -e;
        }
        return Optional.of(new Rational(base.numerator.pow(e), base.denominator.pow(e)));
    }

    /** The exact square root when numerator and denominator are both perfect squares. */
    Optional<Rational> exactSqrt() {
        if (signum() < 0) {
            return Optional.empty();
        }
        BigInteger n = numerator.sqrt();
        BigInteger d = denominator.sqrt();
        if (n.multiply(n).equals(numerator) && d.multiply(d).equals(denominator)) {
            return Optional.of(new Rational(n, d));
        }
        return Optional.empty();
    }

    double doubleValue() {
        return new BigDecimal(numerator).divide(new BigDecimal(denominator), java.math.MathContext.DECIMAL64)
                .doubleValue();
    }

    private static Optional<Rational> bounded(Rational r) {
        if (r.numerator.bitLength() > MAX_BITS || r.denominator.bitLength() > MAX_BITS) {
            return Optional.empty();
        }
        return Optional.of(r);
    }

    @Override
    public int compareTo(Rational o) {
        return numerator.multiply(o.denominator).compareTo(o.numerator.multiply(denominator));
    }

    @Override
    public String toString() {
        return isInteger() ? numerator.toString() : numerator + "/" + denominator;
    }
}
