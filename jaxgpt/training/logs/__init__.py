"""What a run writes for people: metrics.jsonl and loss.png (metrics_file.py), TensorBoard events
(tensorboard.py) and Weights & Biases (wandb_log.py), all behind one writer interface (writers.py)."""
