# Sources of the kafka component (owned by that component).
