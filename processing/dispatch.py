"""Sending work to the broker, and remembering which message carries it.

The database keeps the id of the message that should read each page, so recovery can tell a
page whose message still waits in Redis from one whose message was lost.
"""

from documents.models import Page


def send_page(document_id: str, number: int) -> None:
    from processing.actors import read_document_page

    message = read_document_page.message(document_id, number)
    Page.objects.filter(document_id=document_id, number=number).update(message_id=message.message_id)
    read_document_page.broker.enqueue(message)


def send_start(document_id: str) -> None:
    from processing.actors import start_document

    start_document.send(document_id)
