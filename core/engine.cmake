# Sources of the engine component (owned by that component).
