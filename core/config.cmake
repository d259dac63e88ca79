# Sources of the config component (owned by that component).
