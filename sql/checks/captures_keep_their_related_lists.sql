-- Every capture keeps its whole related list: as many capture_related rows as its page
-- listed, each position once. related_items holds only the best capture's list, so a lost
-- capture_related file (or rows) showed in no other check, and a rebuild from such a lake
-- passed, to fail the next run that touched one of those stories.
select c.source_path, any_value(c.related_count) as listed, count(r.position) as kept
from checked_capture_lists as c
left join checked_capture_related as r using (source_path)
group by c.source_path
having count(r.position) <> any_value(c.related_count) or count(distinct r.position) <> count(r.position);
