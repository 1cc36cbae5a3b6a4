"""The composition: the root URLs and the Site, the home page and dashboards; may import every app."""
