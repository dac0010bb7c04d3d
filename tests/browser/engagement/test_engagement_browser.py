"""Estimates, timesheets and reviews in chromium: htmx swaps, and the admins' side."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlmodel import Session, select

from tests.browser.support import check_page, click_through, login, visit
from webapp import demo
from webapp.models import ContactPerson, Estimate, Project, Review, TimeEntry


def _estimate_id(engine, subject: str) -> int:
    with Session(engine) as session:
        return session.exec(select(Estimate.id).where(Estimate.subject == subject)).one()


def _project_entries(engine, name: str) -> tuple[int, list[int]]:
    with Session(engine) as session:
        project_id = session.exec(select(Project.id).where(Project.name == name)).one()
        pending = session.exec(select(TimeEntry.id).where(
            TimeEntry.project_id == project_id, TimeEntry.approval == "pending")
            .order_by(TimeEntry.id)).all()
        return project_id, list(pending)


def test_jane_accepts_an_estimate_and_comments_and_sees_the_admins_reply(page, open_page,
                                                                         browser_engine):
    estimate_id = _estimate_id(browser_engine, "Website redesign")
    login(page, *demo.JANE)
    visit(page, f"/estimates/{estimate_id}")

    page.get_by_role("button", name="Accept estimate").click()
    decision = page.locator("#estimate-decision")
    expect(decision).to_contain_text("You accepted estimate")
    expect(decision.get_by_role("button", name="Accept estimate")).to_have_count(0)

    page.get_by_label("Your comment").fill("Can we start in January?")
    page.get_by_role("button", name="Add comment").click()
    thread = page.locator("#comment-thread")
    expect(thread).to_contain_text("Can we start in January?")
    expect(page.get_by_label("Your comment")).to_have_value("")
    check_page(page)

    admin = open_page()
    login(admin, *demo.ADMIN)
    visit(admin, f"/admin/estimates/{estimate_id}")
    expect(admin.get_by_role("main")).to_contain_text("accepted it on")
    admin.get_by_label("Your comment").fill("Yes, we can start on 5 January.")
    admin.get_by_role("button", name="Add comment").click()
    expect(admin.locator("#comment-thread")).to_contain_text("Yes, we can start on 5 January.")
    check_page(admin)

    visit(page, f"/estimates/{estimate_id}")
    comments = page.locator("#comment-thread li")
    expect(comments.last).to_contain_text("Yes, we can start on 5 January.")


def test_jane_approves_two_entries_and_disapproves_one_with_a_reason(page, browser_engine):
    project_id, pending = _project_entries(browser_engine, "Website redesign")
    login(page, *demo.JANE)
    visit(page, f"/timesheets?project={project_id}")

    page.locator(f"#select-entry-{pending[0]}").check()
    page.locator(f"#select-entry-{pending[1]}").check()
    page.get_by_role("button", name="Approve selected", exact=True).click()
    sheet = page.locator("#timesheet-list")
    expect(sheet).to_contain_text("You approved 2 time entries.")
    expect(page.locator(f"#select-entry-{pending[0]}")).to_have_count(0)

    page.locator(f"#select-entry-{pending[2]}").check()
    page.get_by_role("button", name="Disapprove selected").click()
    expect(sheet).to_contain_text("Say why you disapprove")
    page.get_by_label("Reason for disapproving").fill("This was billed last month.")
    page.locator(f"#select-entry-{pending[2]}").check()
    page.get_by_role("button", name="Disapprove selected").click()
    expect(sheet).to_contain_text("You disapproved 1 time entry.")
    expect(page.locator(f"#timesheet-entry-{pending[2]}")).to_contain_text(
        "Disapproved: This was billed last month.")
    check_page(page)


def test_jane_writes_a_review_and_the_admin_sees_it(page, open_page):
    login(page, *demo.JANE)
    click_through(page, page.get_by_role("navigation").get_by_role("link", name="Reviews"))
    page.get_by_label("4 stars: good").check()
    page.get_by_label("Your review").fill("Helpful people, clear estimates.")
    page.get_by_role("button", name="Send review").click()
    section = page.locator("#review-section")
    expect(section).to_contain_text("Thank you for your review.")
    expect(section).to_contain_text("Helpful people, clear estimates.")
    check_page(page)

    admin = open_page()
    login(admin, *demo.ADMIN)
    click_through(admin, admin.get_by_role("navigation").get_by_role("link", name="Reviews"))
    expect(admin.get_by_role("main")).to_contain_text("Helpful people, clear estimates.")


def _first_ids(engine) -> dict[str, int]:
    with Session(engine) as session:
        def first(model):
            return session.exec(select(model.id).order_by(model.id)).first()
        return {"estimate": _estimate_id(engine, "Website redesign"), "project": first(Project),
                "entry": first(TimeEntry), "contact": first(ContactPerson),
                "review": first(Review)}


CUSTOMER_PAGES = ["/estimates", "/estimates/{estimate}", "/estimates/{estimate}/forward",
                  "/projects", "/projects/{project}", "/timesheets", "/timesheets/entries/{entry}",
                  "/profile", "/profile/contacts/{contact}/edit", "/messages/new", "/reviews",
                  "/reviews/{review}"]
ADMIN_PAGES = ["/admin/estimates", "/admin/estimates/new", "/admin/estimates/{estimate}",
               "/admin/estimates/{estimate}/edit", "/admin/projects", "/admin/projects/new",
               "/admin/projects/{project}", "/admin/projects/{project}/edit",
               "/admin/projects/{project}/tasks/new", "/admin/projects/{project}/entries/new",
               "/admin/entries/{entry}", "/admin/reviews"]


def test_every_engagement_page_is_accessible_and_csp_clean(page, open_page, browser_engine):
    ids = _first_ids(browser_engine)
    login(page, *demo.JANE)
    for path in CUSTOMER_PAGES:
        visit(page, path.format(**ids))
    admin = open_page()
    login(admin, *demo.ADMIN)
    for path in ADMIN_PAGES:
        visit(admin, path.format(**ids))
