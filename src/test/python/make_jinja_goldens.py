"""Writes src/test/resources/org/jtune/tokenizer/jinja/jinja-goldens.json: templates rendered by
Jinja2 the way transformers renders chat templates (ImmutableSandboxedEnvironment, trim_blocks,
lstrip_blocks, loopcontrols, its tojson, raise_exception and strftime_now), the reference for
org.jtune.tokenizer.jinja. Each case: a template, its variables, and the output or the error class.

    python3 src/test/python/make_jinja_goldens.py
"""
import json
import os
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.now().strftime(fmt)


class AssistantTracker(Extension):
    """transformers' {% generation %} tag: renders its body (it also marks assistant tokens there)."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


ENV = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, loopcontrols])
ENV.filters["tojson"] = tojson
ENV.globals["raise_exception"] = raise_exception
ENV.globals["strftime_now"] = strftime_now

CHAT = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "  Hi there!  "},
    {"role": "assistant", "content": "Hello.\nHow can I help?"},
    {"role": "user", "content": "Tell me \"quotes\" & 'apostrophes' \u00e9\u4e2d\U0001F600"},
]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
TOOL_CHAT = [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "get_weather",
                                                          "arguments": {"city": "Paris"}}}]},
    {"role": "tool", "content": "{\"temp\": 21.5}"},
    {"role": "assistant", "content": "It is 21.5 degrees.<think>hidden</think>"},
]
SPECIAL = {"bos_token": "<s>", "eos_token": "</s>"}

QWEN_LIKE = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

LLAMA31_LIKE = """{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\\n" }}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions." }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- if tools_in_user_message and not tools is none %}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
    {%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\\n\\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}
{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
        {{- '{"name": "' + tool_call.name + '", ' }}
        {{- '"parameters": ' }}
        {{- tool_call.arguments | tojson }}
        {{- "}" }}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""

GEMMA_LIKE = """{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"""

PHI3_LIKE = """{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}"""

ZEPHYR_LIKE = """{% for message in messages %}
{% if message['role'] == 'user' %}
{{ '<|user|>
' + message['content'] + eos_token }}
{% elif message['role'] == 'system' %}
{{ '<|system|>
' + message['content'] + eos_token }}
{% elif message['role'] == 'assistant' %}
{{ '<|assistant|>
'  + message['content'] + eos_token }}
{% endif %}
{% if loop.last and add_generation_prompt %}
{{ '<|assistant|>' }}
{% endif %}
{% endfor %}"""

DEEPSEEK_LIKE = """{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{% set ns = namespace(is_first=false, is_tool=false, system_prompt='', is_first_sp=true) %}{%- for message in messages %}{%- if message['role'] == 'system' %}{%- if ns.is_first_sp %}{% set ns.system_prompt = ns.system_prompt + message['content'] %}{% set ns.is_first_sp = false %}{%- else %}{% set ns.system_prompt = ns.system_prompt + '\\n\\n' + message['content'] %}{%- endif %}{%- endif %}{%- endfor %}{{ bos_token }}{{ ns.system_prompt }}{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}{%- endif %}{%- if message['role'] == 'assistant' and 'tool_calls' in message %}{%- set ns.is_tool = false -%}{%- for tool in message['tool_calls'] %}{%- if not ns.is_first %}{{'<｜Assistant｜><｜tool▁calls▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\\n' + '```json' + '\\n' + tool['function']['arguments']|tojson + '\\n' + '```' + '<｜tool▁call▁end｜>'}}{%- set ns.is_first = true -%}{%- endif %}{%- endfor %}{{'<｜tool▁calls▁end｜><｜end▁of▁sentence｜>'}}{%- endif %}{%- if message['role'] == 'assistant' and 'tool_calls' not in message %}{%- if ns.is_tool %}{{'<｜tool▁outputs▁end｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}{%- set ns.is_tool = false -%}{%- else %}{% set content = message['content'] %}{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endif %}{%- if message['role'] == 'tool' %}{%- set ns.is_tool = true -%}{{'<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}{%- endif %}{%- endfor -%}{% if ns.is_tool %}{{'<｜tool▁outputs▁end｜>'}}{% endif %}{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\\n'}}{% endif %}"""

MACRO_LIKE = """{%- macro render_content(content, prefix='') -%}
{%- if content is string -%}{{ prefix }}{{ content | trim }}
{%- else -%}{%- for part in content if part.type == 'text' -%}{{ prefix }}{{ part.text }}{% if not loop.last %} | {% endif %}{%- endfor -%}
{%- endif -%}
{%- endmacro -%}
{%- for m in messages -%}
[{{ m.role | upper }}] {{ render_content(m.content, prefix='> ') }}
{% endfor -%}"""

FEATURES = [
    ("{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1.5 + 1 }}", {}),
    ("{{ 'a' ~ 1 ~ none ~ true }} {{ 'ab' * 3 }} {{ [1, 2] + [3] }} {{ (1, 'x') }}", {}),
    ("{{ 1e30 }} {{ 0.1 + 0.2 }} {{ 1e-5 }} {{ 123456789012345678.0 }} {{ 3.0 }} {{ 2.5e-320 }}", {}),
    ("{{ x }}|{{ x is defined }}|{{ y is defined }}|{{ y|default('dflt') }}|{{ ''|default('e', true) }}", {"x": 0}),
    ("{{ d }} {{ d.a }} {{ d['b'] }} {{ d.missing }} {{ d.items() | list }} {{ d|length }}", {"d": {"a": 1, "b": [1, "two", None, True, 1.5]}}),
    ("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}", {"d": {"z": 1, "a": 2}}),
    ("{% for x in xs %}{{ loop.index }}/{{ loop.length }}{{ ',' if not loop.last }}{% else %}empty{% endfor %}", {"xs": [4, 5, 6]}),
    ("{% for x in xs %}{{ x }}{% else %}empty{% endfor %}", {"xs": []}),
    ("{% for x in xs if x % 2 == 0 %}{{ x }}{{ loop.index0 }}{% endfor %}", {"xs": [1, 2, 3, 4, 5, 6]}),
    ("{% for x in xs %}{% if x == 3 %}{% break %}{% endif %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %}", {"xs": [0, 1, 2, 3, 4]}),
    ("{% for x in xs %}{{ loop.previtem }}-{{ loop.nextitem }}-{{ loop.revindex }}-{{ loop.cycle('a','b') }} {% endfor %}", {"xs": [1, 2, 3]}),
    ("{% set x = 1 %}{% for i in range(3) %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}", {}),
    ("{% set ns = namespace(total=0) %}{% for i in range(5) %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}", {}),
    ("{% set a, b = [1, 2] %}{{ b }}{{ a }}{% set c = 1, 2 %}{{ c|length }}", {}),
    ("{% set block %}  inner {{ 1 }}  {% endset %}[{{ block }}][{{ block|trim }}]", {}),
    ("{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ s.split() }}|{{ s.split(',') }}|{{ s.upper() }}|{{ s.title() }}", {"s": "  hello, world  "}),
    ("{{ s.startswith('ab') }} {{ s.endswith(('x', 'cd')) }} {{ s.replace('b', 'B') }} {{ s.find('c') }} {{ s.count('a') }} {{ '-'.join(['a','b']) }}", {"s": "abcdab"}),
    ("{{ s[1:] }} {{ s[:-1] }} {{ s[::-1] }} {{ s[0] }} {{ s[-1] }} {{ xs[1:3] }} {{ xs[::2] }} {{ xs[-2:] }} {{ xs[5:] }}", {"s": "h\u00e9llo\U0001F600", "xs": [0, 1, 2, 3, 4]}),
    ("{{ xs|join(', ') }} {{ xs|first }} {{ xs|last }} {{ xs|length }} {{ xs|reverse|list }} {{ xs|sort }} {{ xs|sum }} {{ xs|max }} {{ xs|min }} {{ xs|unique|list }}", {"xs": [3, 1, 2, 3]}),
    ("{{ ms|selectattr('role', 'equalto', 'user')|list|length }} {{ ms|rejectattr('role', 'eq', 'user')|map(attribute='content')|join('+') }} {{ ms|map(attribute='role')|list }}", {"ms": CHAT}),
    ("{{ xs|select('odd')|list }} {{ xs|reject('even')|list }} {{ xs|map('string')|join }} {{ ['a','B']|map('upper')|list }}", {"xs": [1, 2, 3, 4]}),
    ("{{ 'Hello World'|lower }} {{ 'hello world'|title }} {{ 'hello'|capitalize }} {{ 'x'|center(7) }}| {{ 'a b  c'|wordcount }} {{ '<a&b>'|e }}", {}),
    ("{{ '42'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 3.9|int }} {{ '2.5'|float }} {{ 2.567|round(2) }} {{ 2.5|round }} {{ -3|abs }} {{ 42|string ~ '!' }}", {}),
    ("{{ t|tojson }}\n{{ t|tojson(indent=2) }}\n{{ t|tojson(sort_keys=true) }}\n{{ 'x\"\\n\u00e9'|tojson }} {{ none|tojson }} {{ [1.0, true]|tojson }}", {"t": TOOLS[0]}),
    ("{{ text|indent(2) }}|{{ text|indent(2, true) }}|{{ text|indent(2, blank=true) }}", {"text": "a\n\nb\nc\n"}),
    ("{{ '%s is %d'|format('x', 3) }} {{ d|dictsort }} {{ d|items|list }}", {"d": {"b": 1, "a": 2}}),
    ("{{ 1 < 2 < 3 }} {{ 1 < 2 > 3 }} {{ 'a' in 'cat' }} {{ 2 in [1,2] }} {{ 'k' in d }} {{ 'z' not in d }} {{ 1 == 1.0 }} {{ true == 1 }} {{ none is none }}", {"d": {"k": 1}}),
    ("{{ 1 if x else 2 }} {{ 'y' if not x }} {{ x and 'a' or 'b' }} {{ not x is defined }} {{ x is not none }}", {"x": 0}),
    ("{{ x is string }} {{ x is number }} {{ x is integer }} {{ x is float }} {{ y is mapping }} {{ y is iterable }} {{ y is sequence }} {{ z is boolean }} {{ 4 is divisibleby 2 }} {{ 3 is odd }}", {"x": 1.5, "y": {"a": 1}, "z": False}),
    ("  {% if x %}\n  yes\n  {% endif %}\n{{ x }}  {% if x %}inline{% endif %}\n{# comment #}\n  {#- stripped -#}  \n after", {"x": True}),
    ("a  {%- if true -%}  b  {%- endif -%}  c {{- ' d ' -}} e\n{%+ if true %}plus{% endif +%}\nend", {}),
    ("{% raw %}{{ not rendered }}{% endraw %} {{ 'after' }}", {}),
    ("{% macro greet(name, greeting='Hi') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', greeting='Yo') }} {{ greet('Cy', 'Hey') }}", {}),
    ("{% filter upper %}shout {{ x }}{% endfilter %}", {"x": "this"}),
    ("{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{{ a is defined }}", {}),
    ("{{ {'a': 1, 'b': [1, {'c': none}]} }} {{ [] }} {{ {} }} {{ 'it\\'s' }} {{ \"q\\\"\" }} {{ ['it\\'s'] }}", {}),
    ("{{ x['role'] }} {{ x.role }} {{ xs.0 }} {{ xs[0]['role'] }} {{ xs[-1].content }}", {"x": {"role": "r"}, "xs": [{"role": "a", "content": "c0"}, {"role": "b", "content": "c1"}]}),
    ("{{ range(3)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }} {{ range(0)|list }}", {}),
    ("{% generation %}gen {{ 1 }}{% endgeneration %}", {}),
    ("{{ 'a\\tb\\\\n\\u00e9\\x41' }} {{ 'adjacent' 'strings' }} {{ 1_000 }}", {}),
    ("{{ messages[0].content.split('</think>')[-1].strip() }}", {"messages": [{"content": "<think>x</think>  answer "}]}),
    ("{{ x|length }} {{ x|list }} {{ 'ab'|list }} {{ s|length }} {{ s|upper }}", {"x": {"a": 1, "b": 2}, "s": "\u00e9\U0001F600"}),
    ("{%- for m in messages -%}{{ m.role }}{%- if m.tool_calls is defined -%}+tools{% endif %};{%- endfor -%}", {"messages": TOOL_CHAT}),
    ("{{ d.get('a') }} {{ d.get('z', 'dz') }} {{ d.get('z') }} {{ d.keys()|list }} {{ d.values()|list }}", {"d": {"a": 1}}),
]

ERRORS = [
    ("{{ 'a'.repeat(3) }}", {}),
    ("{{ x.y }}", {}),
    ("{{ x.y.z }}", {"x": {}}),
    ("{{ 1 + none }}", {}),
    ("{{ 1 + 'a' }}", {}),
    ("{{ 1 / 0 }}", {}),
    ("{{ 1 // 0 }}", {}),
    ("{{ [1].append(2) }}", {}),
    ("{{ range(100001)|length }}", {}),
    ("{{ raise_exception('stop here') }}", {}),
    ("{% for x in 5 %}{% endfor %}", {}),
    ("{% for %}", {}),
    ("{% if true %}", {}),
    ("{{ 1 +", {}),
    ("{{ x | nosuchfilter }}", {}),
    ("{% include 'other.jinja' %}", {}),
    ("{% import 'macros.jinja' as m %}", {}),
    ("{% extends 'base.jinja' %}", {}),
    ("{{ 'a' < 1 }}", {}),
    ("{% set ns = 1 %}{% set ns.x = 2 %}", {}),
    ("{{ f() }}", {"f": None}),
    ("{{ xs|first|upper }}{{ xs|first + 1 }}", {"xs": []}),
    ("{% endif %}", {}),
    ("{{ x is nosuchtest }}", {}),
    ("{% set a, b = [1, 2, 3] %}", {}),
    ("{{ 'unterminated }}", {}),
    ("{# never closed", {}),
]


def render(template, variables):
    try:
        out = ENV.from_string(template).render(**variables)
        return {"output": out}
    except Exception as e:  # the class name is the reference; any Jinja error is an error for us too
        return {"error": type(e).__name__, "message": str(e)}


def main():
    cases = []
    specials = dict(SPECIAL)
    for name, template in [("qwen_like", QWEN_LIKE), ("llama31_like", LLAMA31_LIKE), ("gemma_like", GEMMA_LIKE),
                           ("phi3_like", PHI3_LIKE), ("zephyr_like", ZEPHYR_LIKE), ("deepseek_like", DEEPSEEK_LIKE),
                           ("macro_like", MACRO_LIKE)]:
        for conv_name, conv in [("chat", CHAT), ("no_system", CHAT[1:]), ("tools", TOOL_CHAT)]:
            for gen in (False, True):
                variables = dict(specials, messages=conv, add_generation_prompt=gen)
                cases.append(dict(name=f"{name}/{conv_name}/{gen}", template=template, variables=variables,
                                  **render(template, variables)))
        if name in ("qwen_like", "llama31_like"):
            variables = dict(specials, messages=TOOL_CHAT, tools=TOOLS, add_generation_prompt=True)
            cases.append(dict(name=f"{name}/with_tools", template=template, variables=variables,
                              **render(template, variables)))
    macro_parts = [{"role": "user", "content": [{"type": "text", "text": "part one"}, {"type": "image"},
                                                 {"type": "text", "text": "part two"}]}]
    cases.append(dict(name="macro_like/parts", template=MACRO_LIKE, variables={"messages": macro_parts},
                      **render(MACRO_LIKE, {"messages": macro_parts})))
    for i, (template, variables) in enumerate(FEATURES):
        cases.append(dict(name=f"feature/{i}", template=template, variables=variables, **render(template, variables)))
    for i, (template, variables) in enumerate(ERRORS):
        result = render(template, variables)
        assert "error" in result, (template, result)
        cases.append(dict(name=f"error/{i}", template=template, variables=variables, **result))
    out = os.path.join(os.path.dirname(__file__), "..", "resources", "org", "jtune", "tokenizer", "jinja",
                       "jinja-goldens.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"generator": f"jinja2 {jinja2.__version__}", "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(cases)} cases -> {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
