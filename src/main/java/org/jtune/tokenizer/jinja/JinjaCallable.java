package org.jtune.tokenizer.jinja;

import java.util.List;
import java.util.Map;

/** Something a template may call: a global function, a macro, or a method of a value. */
interface JinjaCallable {
    Object call(Renderer renderer, List<Object> args, Map<String, Object> kwargs, int line);
}
