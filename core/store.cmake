# Sources of the store component (owned by that component).
