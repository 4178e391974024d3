-- Stories: the ten most-linked related stories of each month.
select month, rank, title, media_kind, links, news_id
from most_related
where rank <= 10
order by month desc, rank, news_id
