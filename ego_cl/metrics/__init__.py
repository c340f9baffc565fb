"""Online and after-the-fact metrics: accuracies, losses, gains, forgetting, aggregation."""
