"""Sunshine Cloud's kit: what every service uses to store, publish, consume and fail well."""
