"""Data: where text comes from (sources.py), how it becomes token ids (tokenizer.py, dataset.py),
how batches are drawn from it (sampler.py), the synthetic seq2seq tasks (tasks.py) and the folder
where downloads and compiled steps are kept (cache.py). Below training: sampling, prepare and
the study tools use it without going through training."""
