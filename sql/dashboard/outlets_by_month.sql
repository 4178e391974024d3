-- Outlets: articles per outlet and month.
select make_date(year, month, 1) as month, attribution as outlet, count(*) as articles
from article_facts
where attribution is not null and year is not null
group by all
order by month, outlet
