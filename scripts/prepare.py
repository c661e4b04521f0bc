"""Turn a text file into token files for training (nanoGPT's data/*/prepare.py):

python scripts/prepare.py --data_file input.txt --out_dir data/mytext               # GPT-2 BPE
python scripts/prepare.py --data_file input.txt --out_dir data/mytext --tokenizer char
python scripts/train.py --init_from gpt2 --dataset data/mytext
"""

from jaxgpt.cli.allocator import restart_with_fast_allocator  # the standard library only: imports in no time

if __name__ == "__main__":
    restart_with_fast_allocator()  # first, before anything heavy is imported: see scripts/train.py
    from jaxgpt.cli.prepare import prepare_main
    from jaxgpt.cli.run import run

    run(prepare_main, skip_teardown=True)
