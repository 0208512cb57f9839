"""Reference rendering for ChatTemplateParityTest, made with transformers' own Jinja sandbox.

Usage: .venv/bin/python transforms/src/test/python/template_parity_reference.py DIR
(DIR = any tokenizer dir, e.g. the npm Llama 3.1 one; only its bos/eos tokens are used).
The template exercises what Hugging Face templates use: trim_blocks/lstrip_blocks, '-' whitespace
control, loop.last/loop.index0, trim, tojson with and without indent, strftime_now, tools.
"""
import json
import sys

from transformers import AutoTokenizer

TEMPLATE = open(__file__.replace(".py", ".jinja")).read()
MESSAGES = [
    {"role": "system", "content": "  Be brief.  "},
    {"role": "user", "content": "Weather in Paris? Use \"tools\"."},
    {"role": "assistant", "content": "Sunny — 21°C."},
]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                         "required": ["city"]}}}]

tok = AutoTokenizer.from_pretrained(sys.argv[1])
for gen in (False, True):
    out = tok.apply_chat_template(MESSAGES, tools=TOOLS, chat_template=TEMPLATE, tokenize=False,
                                  add_generation_prompt=gen)
    print(json.dumps(out, ensure_ascii=False))
