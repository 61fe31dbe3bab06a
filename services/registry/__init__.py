"""The registry service: residents, households, grids and staff, party organisation,
shareholders and organisations of the community."""
