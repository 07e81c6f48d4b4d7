"""Small readers of OpenAI chat messages shared by the shaping steps."""

SYSTEM_ROLES = ("system", "developer")


def leading_system_count(messages):
    """Return how many messages at the start are system (or developer) instructions."""
    count = 0
    while count < len(messages) and messages[count].get("role") in SYSTEM_ROLES:
        count += 1
    return count


def message_text(message):
    """Return a message's text: its string content, or its text parts joined."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text") or "") for part in content if isinstance(part, dict))
    return ""
