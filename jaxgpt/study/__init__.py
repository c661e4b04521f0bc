"""Study tools: exercises with their checkers, the shape tracer and attention figures."""
