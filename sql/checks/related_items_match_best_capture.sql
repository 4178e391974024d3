-- An article's related list is exactly its best capture's list: as many items as the
-- page listed, each position once.
select a.article_id, count(r.position) as linked, count(distinct r.position) as positions, any_value(a.related_count) as listed
from articles as a
left join related_items as r using (article_id)
group by a.article_id
having count(r.position) <> any_value(a.related_count) or count(distinct r.position) <> count(r.position);
