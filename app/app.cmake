# The teller executable (owned by the app component).
