"""The whole validation split's loss of a finished jaxgpt run: python whole_split_jaxgpt.py OUT_DIR"""

import sys

from jaxgpt.data.dataset import Dataset
from jaxgpt.training.evaluate import whole_split_loss
from jaxgpt.training.run.restore import restore_model

model, params, tokenizer, meta = restore_model(sys.argv[1])
data = Dataset.from_text(open("tests/data/tinyshakespeare.txt").read())
print(f"whole val split loss {whole_split_loss(model, params, data.val, model.config.block_size):.4f}")
