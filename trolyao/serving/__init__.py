"""Starting a server: train the Rasa model when its inputs changed, check the model and the
index before any worker loads, and run the Flask app under gunicorn."""
