"""room stores."""
