"""The dashboard pages that accounts owns: sign-up and sign-in, workspaces, keys, settings, members, privacy."""
