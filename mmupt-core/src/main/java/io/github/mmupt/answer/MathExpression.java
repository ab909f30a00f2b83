package io.github.mmupt.answer;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * A parsed arithmetic expression in plain or LaTeX notation, evaluated exactly (as a {@link Rational}) where
 * it is rational and approximately (as a double, at given variable values) otherwise.
 *
 * <p>Understood: decimal and scientific literals, {@code + - * / ^ !}, {@code \cdot \times \div}, implicit
 * multiplication ({@code 2x}, {@code 3\pi}, {@code (x+1)(x-1)}), parentheses and brace groups,
 * {@code \frac{a}{b}}, {@code \sqrt{x}} and {@code \sqrt[n]{x}}, {@code \pi}, {@code \infty}, the functions
 * sin cos tan sec csc cot arcsin arccos arctan ln log exp (log is natural, as in sympy), single-letter
 * variables with optional subscripts ({@code x_1}) and Greek-letter variables ({@code \theta}). A run of
 * several letters is a product of variables only inside something else mathematical ({@code 2xy}); on its
 * own it is a word ({@code no}, {@code yes}) and does not parse, so words are compared as text.
 * Variable names are case-insensitive, matching MathRuler's lower-casing.
 *
 * <p>Parsing is total: anything else yields {@link Optional#empty()}, never an exception.
 */
final class MathExpression {

    private static final Set<String> FUNCTIONS = Set.of(
            "sin", "cos", "tan", "sec", "csc", "cot", "arcsin", "arccos", "arctan", "ln", "log", "exp");
    private static final Set<String> GREEK = Set.of(
            "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta",
            "iota", "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi",
            "chi", "psi", "omega");
    private static final Set<String> SPACING = Set.of(
            "left", "right", "big", "Big", "bigl", "bigr", "Bigl", "Bigr", "displaystyle", "quad", "qquad");
    private static final int MAX_LENGTH = 500;
    private static final int MAX_FACTORIAL = 100;

    private final Node root;
    private final Set<String> variables;
    private Optional<Rational> exact; // memo of exactValue()

    private MathExpression(Node root) {
        this.root = root;
        TreeSet<String> vars = new TreeSet<>();
        collectVariables(root, vars);
        this.variables = Set.copyOf(vars);
    }

    /** Parses {@code text}, or returns empty when it is not an expression this class understands. */
    static Optional<MathExpression> parse(String text) {
        if (text == null || text.isBlank() || text.length() > MAX_LENGTH) {
            return Optional.empty();
        }
        try {
            List<Token> tokens = new Lexer(text).tokens();
            if (tokens.isEmpty()) {
                return Optional.empty();
            }
            Parser parser = new Parser(tokens);
            Node node = parser.expression();
            if (!parser.atEnd()) {
                return Optional.empty();
            }
            return Optional.of(new MathExpression(node));
        } catch (ParseException e) {
            return Optional.empty();
        }
    }

    /** Lower-cased names of the free variables. */
    Set<String> variables() {
        return variables;
    }

    /** The exact value, when the expression has no variables and only rational operations. */
    Optional<Rational> exactValue() {
        Optional<Rational> v = exact;
        if (v == null) {
            v = exact(root); // Optional is immutable: a race computes it twice, never sees half of it
            exact = v;
        }
        return v;
    }

    /** The value at the given variable assignment; NaN where undefined. */
    double evaluate(Map<String, Double> values) {
        return approx(root, values);
    }

    /** Whether the expression mentions infinity, as opposed to overflowing to it. */
    boolean mentionsInfinity() {
        return mentionsInfinity(root);
    }

    private static boolean mentionsInfinity(Node n) {
        if (n instanceof Const c && c.kind == ConstKind.INFINITY) {
            return true;
        }
        return children(n).stream().anyMatch(MathExpression::mentionsInfinity);
    }

    /** True when the expression is a single integer literal such as {@code 12} or {@code -3.0}. */
    boolean isIntegerLiteral() {
        Node n = root instanceof Neg neg ? neg.arg : root;
        return n instanceof Num num && num.literal && num.value.isInteger();
    }

    /** The numerator and denominator as written, when the expression is a literal fraction {@code a/b}. */
    Optional<long[]> literalFraction() {
        Node n = root;
        boolean negative = false;
        if (n instanceof Neg neg) {
            negative = true;
            n = neg.arg;
        }
        if (n instanceof Bin bin && bin.op == '/' && bin.left instanceof Num a && bin.right instanceof Num b
                && a.literal && b.literal && a.value.isInteger() && b.value.isInteger()
                && a.value.numerator().bitLength() < 63 && b.value.numerator().bitLength() < 63) {
            long num = a.value.numerator().longValueExact();
            return Optional.of(new long[] {negative ? -num : num, b.value.numerator().longValueExact()});
        }
        return Optional.empty();
    }

    // ---------------------------------------------------------------- the tree

    private sealed interface Node permits Num, Var, Const, Neg, Bin, Pow, Root, Func, Fact {
    }

    /** A number; {@code literal} when it was written as one token (not computed). */
    private record Num(Rational value, boolean literal) implements Node {
    }

    private record Var(String name) implements Node {
    }

    private enum ConstKind { PI, INFINITY }

    private record Const(ConstKind kind) implements Node {
    }

    private record Neg(Node arg) implements Node {
    }

    private record Bin(char op, Node left, Node right) implements Node {
    }

    private record Pow(Node base, Node exponent) implements Node {
    }

    private record Root(Node arg, Node index) implements Node {
    }

    private record Func(String name, Node arg) implements Node {
    }

    private record Fact(Node arg) implements Node {
    }

    private static List<Node> children(Node n) {
        if (n instanceof Neg neg) {
            return List.of(neg.arg);
        }
        if (n instanceof Bin b) {
            return List.of(b.left, b.right);
        }
        if (n instanceof Pow p) {
            return List.of(p.base, p.exponent);
        }
        if (n instanceof Root r) {
            return List.of(r.arg, r.index);
        }
        if (n instanceof Func f) {
            return List.of(f.arg);
        }
        if (n instanceof Fact f) {
            return List.of(f.arg);
        }
        return List.of();
    }

    private static void collectVariables(Node n, Set<String> out) {
        if (n instanceof Var v) {
            out.add(v.name);
        }
        for (Node child : children(n)) {
            collectVariables(child, out);
        }
    }

    private static Optional<Rational> exact(Node n) {
        if (n instanceof Num num) {
            return Optional.of(num.value);
        }
        if (n instanceof Neg neg) {
            return exact(neg.arg).map(Rational::negate);
        }
        if (n instanceof Bin b) {
            Optional<Rational> l = exact(b.left);
            Optional<Rational> r = exact(b.right);
            if (l.isEmpty() || r.isEmpty()) {
                return Optional.empty();
            }
            return switch (b.op) {
                case '+' -> l.get().plus(r.get());
                case '-' -> l.get().minus(r.get());
                case '*' -> l.get().times(r.get());
                case '/' -> l.get().dividedBy(r.get());
                default -> Optional.empty();
            };
        }
        if (n instanceof Pow p) {
            Optional<Rational> base = exact(p.base);
            Optional<Rational> e = exact(p.exponent);
            if (base.isEmpty() || e.isEmpty()) {
                return Optional.empty();
            }
            if (e.get().equals(Rational.of(1, 2))) {
                return base.get().exactSqrt();
            }
            return base.get().pow(e.get());
        }
        if (n instanceof Root r) {
            Optional<Rational> arg = exact(r.arg);
            Optional<Rational> index = exact(r.index);
            if (arg.isPresent() && index.isPresent() && index.get().equals(Rational.of(2))) {
                return arg.get().exactSqrt();
            }
            return Optional.empty();
        }
        if (n instanceof Fact f) {
            Optional<Rational> arg = exact(f.arg);
            if (arg.isEmpty() || !arg.get().isInteger() || arg.get().signum() < 0
                    || arg.get().compareTo(Rational.of(MAX_FACTORIAL)) > 0) {
                return Optional.empty();
            }
            java.math.BigInteger acc = java.math.BigInteger.ONE;
            for (int i = 2; i <= arg.get().numerator().intValueExact(); i++) {
                acc = acc.multiply(java.math.BigInteger.valueOf(i));
            }
            return Optional.of(new Rational(acc, java.math.BigInteger.ONE));
        }
        return Optional.empty();
    }

    private static double approx(Node n, Map<String, Double> env) {
        if (n instanceof Num num) {
            return num.value.doubleValue();
        }
        if (n instanceof Var v) {
            Double x = env.get(v.name);
            return x == null ? Double.NaN : x;
        }
        if (n instanceof Const c) {
            return c.kind == ConstKind.PI ? Math.PI : Double.POSITIVE_INFINITY;
        }
        if (n instanceof Neg neg) {
            return -approx(neg.arg, env);
        }
        if (n instanceof Bin b) {
            double l = approx(b.left, env);
            double r = approx(b.right, env);
            return switch (b.op) {
                case '+' -> l + r;
                case '-' -> l - r;
                case '*' -> l * r;
                case '/' -> r == 0 ? Double.NaN : l / r;
                default -> Double.NaN;
            };
        }
        if (n instanceof Pow p) {
            return Math.pow(approx(p.base, env), approx(p.exponent, env));
        }
        if (n instanceof Root r) {
            double x = approx(r.arg, env);
            double k = approx(r.index, env);
            if (k == 2) {
                return Math.sqrt(x);
            }
            if (x < 0 && k == Math.rint(k) && ((long) k) % 2 == 1) {
                return -Math.pow(-x, 1 / k);
            }
            return Math.pow(x, 1 / k);
        }
        if (n instanceof Func f) {
            double x = approx(f.arg, env);
            return switch (f.name) {
                case "sin" -> Math.sin(x);
                case "cos" -> Math.cos(x);
                case "tan" -> Math.tan(x);
                case "sec" -> 1 / Math.cos(x);
                case "csc" -> 1 / Math.sin(x);
                case "cot" -> 1 / Math.tan(x);
                case "arcsin" -> Math.asin(x);
                case "arccos" -> Math.acos(x);
                case "arctan" -> Math.atan(x);
                case "ln", "log" -> Math.log(x);
                case "exp" -> Math.exp(x);
                default -> Double.NaN;
            };
        }
        if (n instanceof Fact f) {
            double x = approx(f.arg, env);
            if (x < 0 || x != Math.rint(x) || x > 170) {
                return Double.NaN;
            }
            double acc = 1;
            for (int i = 2; i <= (int) x; i++) {
                acc *= i;
            }
            return acc;
        }
        return Double.NaN;
    }

    // ---------------------------------------------------------------- lexing

    private enum Kind { NUMBER, VAR, WORD, PI, INF, FUNC, FRAC, SQRT, OP, OPEN, CLOSE, SUB }

    private record Token(Kind kind, String text) {
    }

    private static final class ParseException extends Exception {
        private static final long serialVersionUID = 1L;

        ParseException(String message) {
            super(message, null, false, false);
        }
    }

    private static final class Lexer {
        private final String s;
        private int i;
        private final List<Token> out = new ArrayList<>();

        Lexer(String s) {
            this.s = s;
        }

        List<Token> tokens() throws ParseException {
            while (i < s.length()) {
                char c = s.charAt(i);
                if (Character.isWhitespace(c)) {
                    i++;
                } else if (Character.isDigit(c) || (c == '.' && i + 1 < s.length()
                        && Character.isDigit(s.charAt(i + 1)))) {
                    number();
                } else if (Character.isLetter(c)) {
                    letters();
                } else if (c == '\\') {
                    command();
                } else if ("+-*/^!".indexOf(c) >= 0) {
                    out.add(new Token(Kind.OP, String.valueOf(c)));
                    i++;
                } else if ("([{".indexOf(c) >= 0) {
                    out.add(new Token(Kind.OPEN, String.valueOf(c)));
                    i++;
                } else if (")]}".indexOf(c) >= 0) {
                    out.add(new Token(Kind.CLOSE, String.valueOf(c)));
                    i++;
                } else if (c == '_') {
                    out.add(new Token(Kind.SUB, "_"));
                    i++;
                } else {
                    throw new ParseException("unexpected character " + c);
                }
            }
            return splitWords(out);
        }

        private void number() {
            int start = i;
            while (i < s.length() && Character.isDigit(s.charAt(i))) {
                i++;
            }
            if (i < s.length() && s.charAt(i) == '.') {
                i++;
                while (i < s.length() && Character.isDigit(s.charAt(i))) {
                    i++;
                }
            }
            // Scientific notation only when digits follow: "1e3" is 1000, "2e" is 2 times e.
            if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
                int j = i + 1;
                if (j < s.length() && (s.charAt(j) == '+' || s.charAt(j) == '-')) {
                    j++;
                }
                if (j < s.length() && Character.isDigit(s.charAt(j))) {
                    while (j < s.length() && Character.isDigit(s.charAt(j))) {
                        j++;
                    }
                    i = j;
                }
            }
            out.add(new Token(Kind.NUMBER, s.substring(start, i)));
        }

        private void letters() {
            int start = i;
            while (i < s.length() && Character.isLetter(s.charAt(i))) {
                i++;
            }
            String word = s.substring(start, i).toLowerCase(Locale.ROOT);
            out.add(classifyName(word, word.length() == 1 ? Kind.VAR : Kind.WORD));
        }

        private void command() throws ParseException {
            int start = ++i;
            if (i >= s.length()) {
                throw new ParseException("trailing backslash");
            }
            if (!Character.isLetter(s.charAt(i))) {
                char c = s.charAt(i++);
                if (",;:! ".indexOf(c) >= 0) {
                    return; // LaTeX spacing
                }
                throw new ParseException("unsupported escape \\" + c);
            }
            while (i < s.length() && Character.isLetter(s.charAt(i))) {
                i++;
            }
            String name = s.substring(start, i);
            if (SPACING.contains(name)) {
                return;
            }
            switch (name) {
                case "frac", "dfrac", "tfrac", "cfrac" -> out.add(new Token(Kind.FRAC, name));
                case "sqrt" -> out.add(new Token(Kind.SQRT, name));
                case "cdot", "times", "ast" -> out.add(new Token(Kind.OP, "*"));
                case "div" -> out.add(new Token(Kind.OP, "/"));
                case "pi" -> out.add(new Token(Kind.PI, name));
                case "infty", "infinity" -> out.add(new Token(Kind.INF, name));
                default -> {
                    if (FUNCTIONS.contains(name)) {
                        out.add(new Token(Kind.FUNC, name));
                    } else if (GREEK.contains(name)) {
                        out.add(new Token(Kind.VAR, name));
                    } else {
                        throw new ParseException("unsupported command \\" + name);
                    }
                }
            }
        }

        private static Token classifyName(String word, Kind fallback) {
            if (FUNCTIONS.contains(word)) {
                return new Token(Kind.FUNC, word);
            }
            if (word.equals("sqrt")) {
                return new Token(Kind.SQRT, word);
            }
            if (word.equals("pi")) {
                return new Token(Kind.PI, word);
            }
            if (word.equals("inf") || word.equals("infty") || word.equals("infinity")) {
                return new Token(Kind.INF, word);
            }
            return new Token(fallback, word);
        }

        /**
         * A multi-letter word is a product of single-letter variables when anything else in the text is
         * mathematical (a digit, an operator, a command); otherwise the text is prose and does not parse.
         */
        private static List<Token> splitWords(List<Token> tokens) throws ParseException {
            boolean hasWord = tokens.stream().anyMatch(t -> t.kind == Kind.WORD);
            if (!hasWord) {
                return tokens;
            }
            boolean mathematical = tokens.stream().anyMatch(t -> t.kind != Kind.WORD && t.kind != Kind.VAR);
            if (!mathematical) {
                throw new ParseException("prose");
            }
            List<Token> out = new ArrayList<>();
            for (Token t : tokens) {
                if (t.kind == Kind.WORD) {
                    for (char c : t.text.toCharArray()) {
                        out.add(new Token(Kind.VAR, String.valueOf(c)));
                    }
                } else {
                    out.add(t);
                }
            }
            return out;
        }
    }

    // ---------------------------------------------------------------- parsing

    private static final class Parser {
        private final List<Token> tokens;
        private int pos;
        private int depth;

        Parser(List<Token> tokens) {
            this.tokens = tokens;
        }

        boolean atEnd() {
            return pos == tokens.size();
        }

        private Token peek() {
            return pos < tokens.size() ? tokens.get(pos) : null;
        }

        private boolean peekOp(String op) {
            Token t = peek();
            return t != null && t.kind == Kind.OP && t.text.equals(op);
        }

        private Token next() throws ParseException {
            if (pos >= tokens.size()) {
                throw new ParseException("unexpected end");
            }
            return tokens.get(pos++);
        }

        // expr := term (('+' | '-') term)*
        Node expression() throws ParseException {
            if (++depth > 200) {
                throw new ParseException("too deep");
            }
            Node left = term();
            while (peekOp("+") || peekOp("-")) {
                char op = next().text.charAt(0);
                left = new Bin(op, left, term());
            }
            depth--;
            return left;
        }

        // term := unary (('*' | '/' | implicit) unary)*
        private Node term() throws ParseException {
            Node left = unary();
            while (true) {
                if (peekOp("*") || peekOp("/")) {
                    char op = next().text.charAt(0);
                    left = new Bin(op, left, unary());
                } else if (startsImplicitFactor(peek())) {
                    left = new Bin('*', left, power());
                } else {
                    return left;
                }
            }
        }

        /** Implicit multiplication never starts with a number: "2 3" is not 6. */
        private static boolean startsImplicitFactor(Token t) {
            if (t == null) {
                return false;
            }
            return switch (t.kind) {
                case VAR, PI, INF, FUNC, FRAC, SQRT -> true;
                case OPEN -> true;
                default -> false;
            };
        }

        // unary := ('-' | '+') unary | power
        private Node unary() throws ParseException {
            if (peekOp("-")) {
                next();
                return new Neg(unary());
            }
            if (peekOp("+")) {
                next();
                return unary();
            }
            return power();
        }

        // power := postfix ('^' exponent)?   (right-associative, the exponent may carry a sign)
        private Node power() throws ParseException {
            Node base = postfix();
            if (peekOp("^")) {
                next();
                return new Pow(base, exponent());
            }
            return base;
        }

        private Node exponent() throws ParseException {
            if (peekOp("-")) {
                next();
                return new Neg(exponent());
            }
            if (peekOp("+")) {
                next();
                return exponent();
            }
            return power();
        }

        // postfix := primary '!'*
        private Node postfix() throws ParseException {
            Node n = primary();
            while (peekOp("!")) {
                next();
                n = new Fact(n);
            }
            return n;
        }

        private Node primary() throws ParseException {
            Token t = next();
            switch (t.kind) {
                case NUMBER -> {
                    Rational value = Rational.parseDecimal(t.text)
                            .orElseThrow(() -> new ParseException("bad number " + t.text));
                    return new Num(value, true);
                }
                case VAR -> {
                    return new Var(t.text.toLowerCase(Locale.ROOT) + subscript());
                }
                case PI -> {
                    return new Const(ConstKind.PI);
                }
                case INF -> {
                    return new Const(ConstKind.INFINITY);
                }
                case OPEN -> {
                    Node inner = expression();
                    Token close = next();
                    if (close.kind != Kind.CLOSE || !matches(t.text, close.text)) {
                        throw new ParseException("unbalanced " + t.text);
                    }
                    return inner;
                }
                case FRAC -> {
                    Node num = group();
                    Node den = group();
                    return new Bin('/', num, den);
                }
                case SQRT -> {
                    Node index = new Num(Rational.of(2), false);
                    Token p = peek();
                    if (p != null && p.kind == Kind.OPEN && p.text.equals("[")) {
                        next();
                        index = expression();
                        expectClose("]");
                    }
                    return new Root(argument(), index);
                }
                case FUNC -> {
                    Node power = null;
                    if (peekOp("^")) {
                        next();
                        power = exponent();
                    }
                    Node f = new Func(t.text, argument());
                    return power == null ? f : new Pow(f, power);
                }
                default -> throw new ParseException("unexpected " + t.text);
            }
        }

        /** A subscript such as {@code _1} or {@code _{12}} becomes part of a variable's name. */
        private String subscript() throws ParseException {
            Token t = peek();
            if (t == null || t.kind != Kind.SUB) {
                return "";
            }
            next();
            Token s = next();
            if (s.kind == Kind.NUMBER || s.kind == Kind.VAR) {
                return "_" + s.text.toLowerCase(Locale.ROOT);
            }
            if (s.kind == Kind.OPEN && s.text.equals("{")) {
                StringBuilder sb = new StringBuilder("_");
                Token u;
                while ((u = next()).kind != Kind.CLOSE) {
                    sb.append(u.text.toLowerCase(Locale.ROOT));
                }
                return sb.toString();
            }
            throw new ParseException("bad subscript");
        }

        /** A brace group {@code {...}}, as LaTeX commands take their arguments. */
        private Node group() throws ParseException {
            Token open = next();
            if (open.kind != Kind.OPEN || !open.text.equals("{")) {
                throw new ParseException("expected {");
            }
            Node inner = expression();
            expectClose("}");
            return inner;
        }

        /** A function argument: a bracketed group, or the next power-level factor ({@code \sin x}). */
        private Node argument() throws ParseException {
            return power();
        }

        private void expectClose(String close) throws ParseException {
            Token t = next();
            if (t.kind != Kind.CLOSE || !t.text.equals(close)) {
                throw new ParseException("expected " + close);
            }
        }

        private static boolean matches(String open, String close) {
            return (open.equals("(") && close.equals(")")) || (open.equals("[") && close.equals("]"))
                    || (open.equals("{") && close.equals("}"));
        }
    }

    @Override
    public String toString() {
        return root.toString();
    }
}
