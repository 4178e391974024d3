-- Every linked story is described once, and every described story is linked.
select coalesce(r.news_id, n.news_id) as news_id
from (select distinct news_id from checked_news_links) as r
full outer join checked_news_items as n using (news_id)
where r.news_id is null or n.news_id is null;
