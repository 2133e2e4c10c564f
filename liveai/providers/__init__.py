"""Video providers: each module only translates between our task and one API."""
