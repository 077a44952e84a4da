package org.jtune.tokenizer.jinja;

import java.util.LinkedHashMap;
import java.util.Map;

/** {@code namespace(...)}: the one mutable object of a template, assigned with {@code set ns.attr = value}. */
final class Namespace {
    final Map<String, Object> attributes = new LinkedHashMap<>();
}
