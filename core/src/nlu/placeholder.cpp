// Placeholder until the NLU component lands.
