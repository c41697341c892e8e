"""GFM task items → ``ac:task-list``: each item keeps the page's task it came from (id, uuid, shell).

An item takes the first unused task of the original page whose body is the same (document order, nested lists
included); an item whose text was edited takes an unused task of the same list lying between its neighbours'
tasks; any other item is new and gets an id above every id on the page. Ticking a box changes only the status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from confluence_mcp.content.references import Index
from confluence_mcp.content.storage_xml import Node, canonical, clark, detached_copy, new_root, sub, tag_of

__all__ = ["TaskItem", "Tasks"]

_BODY: Final = clark("ac:task-body")
_STATUS: Final = clark("ac:task-status")


@dataclass
class TaskItem:
    """One GFM task item: its body built as storage, whether it is ticked, and the task list nested under it."""

    body: Node
    done: bool
    nested: list[TaskItem] = field(default_factory=list)
    original: Node | None = None


def _content(body: Node | None) -> object:
    """Return the comparable content of a task body (its attributes do not count)."""
    if body is None:
        return ()
    holder = new_root()
    holder.append(detached_copy(body))
    inner = canonical(holder)[2]
    assert isinstance(inner, tuple)
    return inner[0][2] if inner else ()


class Tasks:
    """The original page's tasks for one conversion, handed out once each; new ids above the page's highest."""

    def __init__(self, index: Index, before: Node | None = None) -> None:
        """``before``: an element of the page whose preceding tasks count as taken (to convert it alone)."""
        self.index = index
        self.last = index.max_task_id
        self.start = index.position(before) if before is not None else 0
        self.used: set[int] = set()
        self.place = index.task_places
        self.contents = index.task_bodies

    def claim(self, element: Node) -> None:
        """Count the tasks in a page element a placeholder took as taken, so later items match the ones after."""
        self.used.update(id(task) for task in element.iter(clark("ac:task")))

    def next_id(self) -> str:
        """Return the next unused task id."""
        self.last += 1
        return str(self.last)

    def build(self, items: list[TaskItem], parent: Node) -> None:
        """Append the ``ac:task-list`` for ``items`` (matched against the page first) to ``parent``."""
        self._by_text(items)
        self._by_position(items)
        self._write(items, parent)

    def _by_text(self, items: list[TaskItem]) -> None:
        for item in items:
            wanted = _content(item.body)
            tasks = self.index.of_kind("task")
            item.original = next((t for t in tasks if self._free(t) and self._content(t) == wanted), None)
            if item.original is not None:
                self.used.add(id(item.original))
            self._by_text(item.nested)

    def _free(self, task: Node) -> bool:
        """Say whether no item took ``task`` yet (tasks before the element converted alone count as taken)."""
        return id(task) not in self.used and self.index.position(task) >= self.start

    def _content(self, task: Node) -> object:
        if id(task) not in self.contents:
            self.contents[id(task)] = _content(task.find(_BODY))
        return self.contents[id(task)]

    def _by_position(self, items: list[TaskItem]) -> None:
        for number, item in enumerate(items):
            if item.original is None:
                item.original = self._between(items, number)
                if item.original is not None:
                    self.used.add(id(item.original))
            self._by_position(item.nested)

    def _between(self, items: list[TaskItem], number: int) -> Node | None:
        """Return an unused task of the list the item's neighbours came from, lying between theirs."""
        before = next((i.original for i in reversed(items[:number]) if i.original is not None), None)
        after = next((i.original for i in items[number + 1 :] if i.original is not None), None)
        anchor = before if before is not None else after
        if anchor is None or id(anchor) not in self.place:
            return None
        task_list, _ = self.place[id(anchor)]
        low = self.place[id(before)][1] if before is not None else -1
        high = len(task_list)
        if after is not None and id(after) in self.place and self.place[id(after)][0] is task_list:
            high = self.place[id(after)][1]
        candidates = [t for t in task_list if tag_of(t) == "ac:task"]
        return next((t for t in candidates[low + 1 : high] if self._free(t)), None)

    def _write(self, items: list[TaskItem], parent: Node) -> None:
        first = next((i.original for i in items if i.original is not None and id(i.original) in self.place), None)
        attributes = dict(self.place[id(first)][0].attrib) if first is not None else {}
        task_list = sub(parent, "ac:task-list")
        task_list.attrib.update(attributes)
        for item in items:
            task_list.append(self._task(item))
            if item.nested:
                self._write(item.nested, task_list)

    def _task(self, item: TaskItem) -> Node:
        status_text = "complete" if item.done else "incomplete"
        if item.original is None:
            task = Node(clark("ac:task"))
            sub(task, "ac:task-id", text=self.next_id())
            sub(task, "ac:task-status", text=status_text)
            task.append(item.body)
            return task
        task = detached_copy(item.original)
        status = task.find(_STATUS)
        if status is None and item.done:
            status = sub(task, "ac:task-status")
        if status is not None and ((status.text or "").strip() == "complete") != item.done:
            status.text = status_text
        body = task.find(_BODY)
        if body is None:
            if len(item.body) or (item.body.text or "").strip():
                task.append(item.body)
            return task
        body.text = item.body.text
        for child in list(body):
            body.remove(child)
        body.extend(item.body)
        return task
