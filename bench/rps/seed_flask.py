"""Stand-in for the seed design's GET /api/auth/status (bench/rps, issue 11).

The project started as a Flask demo (kept routes: web/routes.go). Its source is
not in this repository, so this is a minimal emulation of that design, not a
copy: Flask's own signed-cookie session (itsdangerous HMAC over JSON) holds the
Coze token and user, and the status route answers from it without a database,
served by Werkzeug's threaded development server (Flask's app.run), which logs
one line per request to stderr as the demo did. It is the cheapest the seed's
status check could have been, so the ratio coze2app / seed is a lower bound.

Usage: python3 seed_flask.py PORT
"""
import os
import sys

from flask import Flask, jsonify, session

app = Flask(__name__)
app.secret_key = os.urandom(32)


@app.route("/bench/signin")
def signin():
    # What the demo's OAuth callback left in the session.
    session["access_token"] = "pat_" + "x" * 60
    session["user"] = {"id": "1000000001", "name": "bench", "avatar_url": ""}
    return jsonify(ok=True)


@app.route("/api/auth/status")
def auth_status():
    if "access_token" not in session:
        return jsonify(authenticated=False, user=None)
    return jsonify(authenticated=True, user=session.get("user"))


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
