"""The maths of one training step: the loss (loss.py, cross_entropy.py), the optimizer and its
schedule (optimizer.py), the train state (state.py, loss_scale.py) and the jitted step itself
(train_step.py)."""
