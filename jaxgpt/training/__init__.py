"""Training: losses, optimizer and schedules, the train state and step, the loop every trainer
shares, checkpoints and the run folder, data and tokenizers, devices and processes, metrics."""
