"""The gateway's own database: accounts and revoked tokens. All its queries are here."""

from datetime import timedelta

from pymongo import ASCENDING, IndexModel, ReturnDocument

from shared.mongo import Expiry

ACCOUNTS = "accounts"
REVOKED = "revoked_tokens"

INDEXES = {
    ACCOUNTS: [IndexModel([("role", ASCENDING), ("grid", ASCENDING)], name="by_role_grid")],
}
# A revoked token need only be remembered until it would have expired anyway.
EXPIRY = {REVOKED: Expiry("expires_at", timedelta(0))}

ACCOUNT_FIELDS = ("username", "role", "grid", "name", "person_id", "resident_id", "vendor_id",
                  "staff_id", "active", "created_at")


def account_view(doc):
    view = {k: doc.get(k) for k in ACCOUNT_FIELDS}
    view["username"] = doc["_id"]
    if view["created_at"] is not None:
        view["created_at"] = view["created_at"].isoformat()
    return view


def find_account(db, username):
    return db.accounts.find_one({"_id": username})


def insert_account(db, doc):
    db.accounts.insert_one(doc)  # DuplicateKeyError on a taken username: the kit maps it to Conflict


def list_accounts(db, role=None, grid=None):
    query = {k: v for k, v in (("role", role), ("grid", grid)) if v}
    return [account_view(d) for d in db.accounts.find(query).sort("_id", ASCENDING)]


def record_failure(db, username, now):
    return db.accounts.find_one_and_update(
        {"_id": username}, {"$inc": {"failures": 1}, "$set": {"last_failure": now}},
        return_document=ReturnDocument.AFTER)


def record_success(db, username, now):
    db.accounts.update_one({"_id": username}, {"$set": {"failures": 0, "last_login": now}})


def set_password(db, username, password_hash):
    return db.accounts.update_one({"_id": username},
                                   {"$set": {"password_hash": password_hash, "failures": 0}}).matched_count


def set_active(db, username, active):
    return db.accounts.update_one({"_id": username}, {"$set": {"active": active}}).matched_count


def revoke(db, jti, username, expires_at, now):
    """One token (logout)."""
    db.revoked_tokens.update_one({"_id": jti}, {"$setOnInsert": {
        "username": username, "expires_at": expires_at, "revoked_at": now}}, upsert=True)


def revoke_all(db, username, expires_at, now):
    """Every token of an account issued until now (deactivation, password change)."""
    db.revoked_tokens.update_one({"_id": f"account:{username}"},
                           {"$set": {"username": username, "expires_at": expires_at, "revoked_at": now}},
                           upsert=True)


def is_revoked(db, jti, username, issued_at):
    """One indexed read per request: the token itself, or its account since it was issued."""
    for doc in db.revoked_tokens.find({"_id": {"$in": [jti, f"account:{username}"]}}):
        if doc["_id"] == jti or doc["revoked_at"].timestamp() >= issued_at:
            return True
    return False


# ---------------------------------------------------------------- Open311 keys and tokens


def insert_api_key(db, key_hash, username, now):
    db.open311_keys.insert_one({"_id": key_hash, "username": username, "created_at": now})


def account_of_key(db, key_hash):
    key = db.open311_keys.find_one({"_id": key_hash})
    return find_account(db, key["username"]) if key else None


def insert_token(db, token, service_request_id, now):
    db.open311_tokens.insert_one({"_id": token, "service_request_id": service_request_id, "created_at": now})


def find_token(db, token):
    return db.open311_tokens.find_one({"_id": token})
